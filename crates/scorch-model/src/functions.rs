//! The data manipulation functions of the system scorch re-creates, with its documented results
//! (`Mid('Take from the middle', 5, 4)` is `from`). Names are case-insensitive here.

/// Every function name, as documented.
pub const NAMES: [&str; 15] = [
    "Upper", "Lower", "Field", "Sum", "Diff", "Mult", "Div", "Instr", "Right", "Left", "Mid", "LTrim", "RTrim", "Trim",
    "Len",
];

pub fn exists(name: &str) -> bool {
    NAMES.iter().any(|n| n.eq_ignore_ascii_case(name))
}

/// Most decimal places `Diff` and `Div` write: far past what an f64 holds, and a bound on the
/// text a placeholder can ask for (formatting itself panics past 65,535).
pub const MAX_DECIMAL_PLACES: usize = 100;

/// Calls function `name` with text arguments.
pub fn call(name: &str, args: &[String]) -> Result<String, String> {
    let canonical = NAMES
        .iter()
        .find(|n| n.eq_ignore_ascii_case(name))
        .copied()
        .unwrap_or(name);
    let arity = |min: usize, max: usize| -> Result<(), String> {
        if args.len() < min || args.len() > max {
            let want = if min == max {
                min.to_string()
            } else {
                format!("{min} to {max}")
            };
            return Err(format!("{canonical} takes {want} arguments, got {}", args.len()));
        }
        Ok(())
    };
    let int = |i: usize| -> Result<usize, String> {
        args[i]
            .trim()
            .parse::<usize>()
            .map_err(|_| format!("{canonical}: '{}' is not a whole number", args[i]))
    };
    let chars = |s: &str| s.chars().collect::<Vec<_>>();
    Ok(match canonical {
        "Upper" => {
            arity(1, 1)?;
            args[0].to_uppercase()
        }
        "Lower" => {
            arity(1, 1)?;
            args[0].to_lowercase()
        }
        "Field" => {
            arity(3, 3)?;
            let n = int(2)?;
            if n == 0 || args[1].is_empty() {
                return Err("Field: the delimiter must not be empty and n starts at 1".into());
            }
            args[0]
                .split(args[1].as_str())
                .nth(n - 1)
                .unwrap_or_default()
                .to_string()
        }
        "Sum" | "Mult" => {
            if args.is_empty() {
                return Err(format!("{canonical} takes at least one argument"));
            }
            let nums = numbers(canonical, args)?;
            let result = if canonical == "Sum" {
                nums.iter().sum()
            } else {
                nums.iter().product()
            };
            format_number(result, None)
        }
        "Diff" | "Div" => {
            arity(2, 3)?;
            let nums = numbers(canonical, &args[..2])?;
            let places = args.get(2).map(|_| int(2)).transpose()?;
            if let Some(p) = places.filter(|&p| p > MAX_DECIMAL_PLACES) {
                return Err(format!(
                    "{canonical}: at most {MAX_DECIMAL_PLACES} decimal places, not {p}"
                ));
            }
            let result = if canonical == "Diff" {
                nums[0] - nums[1]
            } else if nums[1] == 0.0 {
                return Err("Div: division by zero".into());
            } else {
                nums[0] / nums[1]
            };
            format_number(result, places)
        }
        "Instr" => {
            arity(2, 2)?;
            match args[0].find(args[1].as_str()) {
                Some(byte) => (args[0][..byte].chars().count() + 1).to_string(),
                None => "0".into(),
            }
        }
        "Right" => {
            arity(2, 2)?;
            let c = chars(&args[0]);
            let n = int(1)?.min(c.len());
            c[c.len() - n..].iter().collect()
        }
        "Left" => {
            arity(2, 2)?;
            chars(&args[0]).into_iter().take(int(1)?).collect()
        }
        "Mid" => {
            arity(3, 3)?;
            chars(&args[0]).into_iter().skip(int(1)?).take(int(2)?).collect()
        }
        "LTrim" => {
            arity(1, 1)?;
            args[0].trim_start().to_string()
        }
        "RTrim" => {
            arity(1, 1)?;
            args[0].trim_end().to_string()
        }
        "Trim" => {
            arity(1, 1)?;
            args[0].trim().to_string()
        }
        "Len" => {
            arity(1, 1)?;
            args[0].chars().count().to_string()
        }
        other => return Err(format!("unknown function '{other}'")),
    })
}

fn numbers(name: &str, args: &[String]) -> Result<Vec<f64>, String> {
    args.iter()
        .map(|a| {
            a.trim()
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .ok_or_else(|| format!("{name}: '{a}' is not a number"))
        })
        .collect()
}

/// With `places`, exactly that many decimals; otherwise integers bare and other values without
/// floating-point noise (`9.3 - 2.1` is `7.2`).
fn format_number(n: f64, places: Option<usize>) -> String {
    match places {
        Some(p) => format!("{n:.p$}"),
        None if n.fract() == 0.0 && n.abs() < 1e15 => format!("{n:.0}"),
        None => {
            let s = format!("{n:.10}");
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn try_call(name: &str, args: &[&str]) -> Result<String, String> {
        call(name, &args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    fn f(name: &str, args: &[&str]) -> String {
        try_call(name, args).unwrap()
    }

    /// The documented input/output pairs.
    #[test]
    fn documented_examples() {
        assert_eq!(
            f("Upper", &["this will be converted to uppercase"]),
            "THIS WILL BE CONVERTED TO UPPERCASE"
        );
        assert_eq!(
            f("Lower", &["This Will Be Converted To Lowercase"]),
            "this will be converted to lowercase"
        );
        assert_eq!(f("Field", &["John;Smith;9055552211", ";", "2"]), "Smith");
        assert_eq!(f("Sum", &["2", "3", "4", "5"]), "14");
        assert_eq!(f("Diff", &["9", "7"]), "2");
        assert_eq!(f("Diff", &["9.3", "2.1", "2"]), "7.20");
        assert_eq!(f("Mult", &["2", "3", "4"]), "24");
        assert_eq!(f("Div", &["8", "4"]), "2");
        assert_eq!(f("Div", &["9", "2", "2"]), "4.50");
        assert_eq!(f("Instr", &["This is a string that is searched", "string"]), "11");
        assert_eq!(f("Right", &["Take from the right", "9"]), "the right");
        assert_eq!(f("Left", &["Take from the left", "4"]), "Take");
        assert_eq!(f("Mid", &["Take from the middle", "5", "4"]), "from");
        assert_eq!(
            f("LTrim", &[" Remove the leading spaces only. "]),
            "Remove the leading spaces only. "
        );
        assert_eq!(
            f("RTrim", &[" Remove the trailing spaces only. "]),
            " Remove the trailing spaces only."
        );
        assert_eq!(
            f("Trim", &[" Remove leading and trailing spaces. "]),
            "Remove leading and trailing spaces."
        );
        assert_eq!(f("Len", &["Measure this text"]), "17");
        assert_eq!(f("upper", &["x"]), "X");
        assert_eq!(f("Instr", &["abc", "z"]), "0");
        assert_eq!(f("Diff", &["9.3", "2.1"]), "7.2");
    }

    #[test]
    fn bad_arguments_are_errors() {
        assert!(try_call("Div", &["1", "0"]).unwrap_err().contains("division by zero"));
        assert!(
            try_call("Sum", &["1", "x"])
                .unwrap_err()
                .contains("'x' is not a number")
        );
        assert!(try_call("Left", &["abc"]).unwrap_err().contains("takes 2 arguments"));
    }

    /// 70,000 places once reached `format!`, which panics past 65,535.
    #[test]
    fn decimal_places_are_bounded() {
        assert_eq!(
            try_call("Diff", &["1", "2", "70000"]).unwrap_err(),
            "Diff: at most 100 decimal places, not 70000"
        );
        assert_eq!(f("Div", &["1", "3", "100"]).len(), "0.".len() + 100);
    }
}
