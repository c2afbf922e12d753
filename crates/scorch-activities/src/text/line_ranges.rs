//! The `lines` property of `read_line` and `delete_line`: 1-based line numbers and ranges
//! separated by commas, `END` standing for the last line (`1-3,7,10-END`).

/// One end of a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bound {
    Line(usize),
    End,
}

/// Parsed `lines`. Lines past the end of a file select nothing rather than fail, so `1-10`
/// reads a shorter file whole.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct LineRanges(Vec<(Bound, Bound)>);

impl LineRanges {
    /// Parses `text`; the error says which part is wrong, for the property's error.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.trim().is_empty() {
            return Err("no line numbers given".to_string());
        }
        text.split(',').map(parse_range).collect::<Result<_, _>>().map(Self)
    }

    /// Whether 1-based line `line` is selected, in a file whose last line is `last`.
    pub fn contains(&self, line: usize, last: usize) -> bool {
        let at = |bound: Bound| match bound {
            Bound::Line(n) => n,
            Bound::End => last,
        };
        self.0.iter().any(|&(start, end)| at(start) <= line && line <= at(end))
    }
}

fn parse_range(part: &str) -> Result<(Bound, Bound), String> {
    let part = part.trim();
    let (start, end) = match part.split_once('-') {
        Some((start, end)) => (parse_bound(part, start)?, parse_bound(part, end)?),
        None => {
            let line = parse_bound(part, part)?;
            (line, line)
        }
    };
    match (start, end) {
        (Bound::End, Bound::Line(_)) => Err(format!("'{part}': END is the last line, nothing comes after it")),
        (Bound::Line(a), Bound::Line(b)) if b < a => Err(format!("'{part}': the range ends before it starts")),
        _ => Ok((start, end)),
    }
}

fn parse_bound(part: &str, text: &str) -> Result<Bound, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("end") {
        return Ok(Bound::End);
    }
    match text.parse::<usize>() {
        Ok(0) => Err(format!("'{part}': lines are numbered from 1")),
        Ok(n) => Ok(Bound::Line(n)),
        Err(_) => Err(format!("'{part}': '{text}' is not a line number or END")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selected(text: &str, last: usize) -> Vec<usize> {
        let ranges = LineRanges::parse(text).unwrap();
        (1..=last).filter(|&n| ranges.contains(n, last)).collect()
    }

    #[test]
    fn selects_numbers_ranges_and_end() {
        assert_eq!(selected("1-3,7,10-END", 12), [1, 2, 3, 7, 10, 11, 12]);
        assert_eq!(selected(" 2 - 3 , end ", 5), [2, 3, 5]);
        assert_eq!(selected("1-END", 0), Vec::<usize>::new());
        assert_eq!(selected("4-10,20", 5), [4, 5]);
        assert_eq!(selected("END-END", 3), [3]);
    }

    #[test]
    fn errors_name_the_bad_part() {
        let err = |text| LineRanges::parse(text).unwrap_err();
        assert_eq!(err("5-2"), "'5-2': the range ends before it starts");
        assert_eq!(err("1,0"), "'0': lines are numbered from 1");
        assert_eq!(err("1,x-3"), "'x-3': 'x' is not a line number or END");
        assert_eq!(err("1,,3"), "'': '' is not a line number or END");
        assert_eq!(err("END-4"), "'END-4': END is the last line, nothing comes after it");
        assert_eq!(err(" "), "no line numbers given");
        assert_eq!(err("-3"), "'-3': '' is not a line number or END");
    }
}
