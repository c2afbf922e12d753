//! System: activities that start programs on the runbook server. Both (and `run_ssh_command`) share the spec's rules for
//! exit codes and output: `success_codes` decide the status, a failure's `error` is the last line
//! of stderr, and one trailing newline is removed from stdout and stderr.

mod run_program;
mod run_script;

pub use run_program::RunProgram;
pub use run_script::RunScript;

use scorch_activity::process::ProcessOutput;
use scorch_activity::props::Props;
use scorch_activity::{ActivityError, ActivityOutput, Row, row};

/// The `success_codes` property: the exit codes that mean success, `[0]` when absent.
pub(crate) fn success_codes(props: &Props) -> Result<Vec<i32>, ActivityError> {
    let codes = props.str_list("success_codes")?;
    if codes.is_empty() {
        return Ok(vec![0]);
    }
    codes
        .iter()
        .map(|code| {
            code.trim().parse().map_err(|_| {
                ActivityError::invalid(
                    props.type_name(),
                    "success_codes",
                    format!("'{code}' is not an exit code"),
                )
            })
        })
        .collect()
}

/// `text` without one trailing newline (`echo b` publishes `b`).
fn trim_newline(text: &str) -> &str {
    text.strip_suffix('\n')
        .map_or(text, |t| t.strip_suffix('\r').unwrap_or(t))
}

/// The fields every run publishes: `exit_code`, `stdout` and `stderr`.
pub(crate) fn streams_row(out: &ProcessOutput) -> Row {
    row! {
        "exit_code" => out.exit_code,
        "stdout" => trim_newline(&out.stdout),
        "stderr" => trim_newline(&out.stderr),
    }
}

/// Success when the exit code is one of `success_codes`; otherwise failed with the last line of
/// stderr, still publishing `rows` so links can route on the exit code.
pub(crate) fn finish(out: &ProcessOutput, success_codes: &[i32], rows: Vec<Row>) -> ActivityOutput {
    if success_codes.contains(&out.exit_code) {
        return ActivityOutput::rows(rows);
    }
    let last_line = out.stderr.lines().map(str::trim).rfind(|line| !line.is_empty());
    let error = last_line.map_or_else(|| format!("exit code {}", out.exit_code), str::to_string);
    ActivityOutput::failed(error, rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use scorch_activity::json;

    fn output(exit_code: i32, stderr: &str) -> ProcessOutput {
        ProcessOutput {
            exit_code,
            stdout: "out\n\n".into(),
            stderr: stderr.into(),
            pid: 1,
        }
    }

    #[test]
    fn success_codes_default_to_zero_and_reject_words() {
        let props = Props::new("run_program", json!({})).unwrap();
        assert_eq!(success_codes(&props).unwrap(), vec![0]);
        let props = Props::new("run_program", json!({"success_codes": [0, "3"]})).unwrap();
        assert_eq!(success_codes(&props).unwrap(), vec![0, 3]);
        let props = Props::new("run_program", json!({"success_codes": ["ok"]})).unwrap();
        let err = success_codes(&props).unwrap_err().to_string();
        assert_eq!(err, "run_program: property 'success_codes': 'ok' is not an exit code");
    }

    #[test]
    fn only_one_trailing_newline_is_removed() {
        assert_eq!(trim_newline("b\n"), "b");
        assert_eq!(trim_newline("b\r\n"), "b");
        assert_eq!(trim_newline("b\n\n"), "b\n");
        assert_eq!(trim_newline("b"), "b");
        assert_eq!(streams_row(&output(0, ""))["stdout"], "out\n");
    }

    #[test]
    fn failure_names_the_last_non_empty_stderr_line_or_the_code() {
        let rows = vec![streams_row(&output(2, ""))];
        let out = finish(&output(2, "first\nlast  \n\n"), &[0], rows.clone());
        assert_eq!((out.error.as_str(), out.rows), ("last", rows));
        assert_eq!(finish(&output(7, " \n"), &[0], vec![]).error, "exit code 7");
        assert_eq!(finish(&output(7, "warn"), &[0, 7], vec![]).error, "");
    }
}
