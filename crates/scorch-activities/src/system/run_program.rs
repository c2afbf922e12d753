//! `run_program`: starts a program and publishes its exit code and output.

use scorch_activity::process::{self, ProcessSpec};
use scorch_activity::props::Props;
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Value, row};

use super::{finish, streams_row, success_codes, trim_newline};

const TYPE: &str = "run_program";

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: TYPE,
    category: "System",
    summary: "Runs a program and publishes its exit code and output (whole, or one row per line).",
    idempotent: false,
    properties: &[
        "program",
        "arguments",
        "working_dir",
        "environment",
        "stdin",
        "success_codes",
        "output",
    ],
    required: &["program"],
    publishes: &["exit_code", "stdout", "stderr", "pid", "line"],
};

pub struct RunProgram;

#[scorch_activity::async_trait]
impl Activity for RunProgram {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    async fn run(&self, ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let props = Props::new(TYPE, properties)?;
        let spec = ProcessSpec {
            program: props.non_empty("program")?,
            args: arguments(&props)?,
            working_dir: props.opt_str("working_dir")?.map(|dir| ctx.resolve_path(&dir)),
            env: props.str_map("environment")?,
            stdin: props.opt_str("stdin")?,
        };
        let success_codes = success_codes(&props)?;
        let by_line = props.choice("output", &["text", "lines"], "text")? == "lines";
        let out = process::run(ctx, TYPE, spec).await?;
        let rows = if by_line {
            trim_newline(&out.stdout)
                .lines()
                .map(|line| row! { "line" => line, "exit_code" => out.exit_code })
                .collect()
        } else {
            let mut row = streams_row(&out);
            row.insert("pid".into(), out.pid.into());
            vec![row]
        };
        Ok(finish(&out, &success_codes, rows))
    }
}

/// `arguments`: a list taken as is, or one string split into words the way a shell would.
fn arguments(props: &Props) -> Result<Vec<String>, ActivityError> {
    match props.get("arguments") {
        None | Some(Value::Array(_)) => props.str_list("arguments"),
        Some(_) => split_words(&props.str("arguments")?).map_err(|why| ActivityError::invalid(TYPE, "arguments", why)),
    }
}

/// Splits `text` at unquoted whitespace. `'...'` is literal; inside `"..."` a backslash escapes
/// `"`, `\`, `$` and `` ` `` only; elsewhere a backslash escapes any character.
fn split_words(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    // `None` between words, so that `''` still makes an (empty) word.
    let mut word: Option<String> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c.is_whitespace() {
            words.extend(word.take());
            continue;
        }
        let current = word.get_or_insert_default();
        match c {
            '\'' => loop {
                match chars.next() {
                    Some('\'') => break,
                    Some(c) => current.push(c),
                    None => return Err("unterminated ' quote".into()),
                }
            },
            '"' => loop {
                match chars.next() {
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some(c @ ('"' | '\\' | '$' | '`')) => current.push(c),
                        Some(c) => current.extend(['\\', c]),
                        None => return Err("unterminated \" quote".into()),
                    },
                    Some(c) => current.push(c),
                    None => return Err("unterminated \" quote".into()),
                }
            },
            '\\' => current.push(chars.next().unwrap_or('\\')),
            c => current.push(c),
        }
    }
    words.extend(word);
    Ok(words)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use scorch_activity::{Status, json};
    use std::time::Duration;

    fn ctx() -> ActivityContext {
        ActivityContext::standalone(TYPE, std::env::temp_dir())
    }

    async fn run(properties: Value) -> Result<ActivityOutput, ActivityError> {
        RunProgram.run(&ctx(), properties).await
    }

    #[test]
    fn splits_like_a_shell() {
        let words = split_words(r#"  -c 'a  b' "x \"y\" \n $z" c\ d '' e"#).unwrap();
        assert_eq!(words, vec!["-c", "a  b", r#"x "y" \n $z"#, "c d", "", "e"]);
        assert_eq!(split_words("a'b'c").unwrap(), vec!["abc"]);
        assert_eq!(split_words("  ").unwrap(), Vec::<String>::new());
        assert_eq!(split_words("echo 'oops").unwrap_err(), "unterminated ' quote");
        assert_eq!(split_words(r#"echo "oops\"#).unwrap_err(), "unterminated \" quote");
    }

    #[tokio::test]
    async fn publishes_output_of_a_string_command_line() {
        let out = run(
            json!({"program": "sh", "arguments": "-c 'echo \"$GREETING\"; echo b >&2'",
            "environment": {"GREETING": "hello world"}}),
        )
        .await
        .unwrap();
        assert_eq!(out.status, Status::Success);
        let row = &out.rows[0];
        assert_eq!(
            (&row["exit_code"], &row["stdout"], &row["stderr"]),
            (&json!(0), &json!("hello world"), &json!("b"))
        );
        assert!(row["pid"].as_u64().unwrap() > 0);
    }

    #[tokio::test]
    async fn feeds_stdin_and_runs_in_the_working_dir() {
        let dir = tempfile::tempdir().unwrap();
        let out = RunProgram
            .run(
                &ctx(),
                json!({"program": "sh", "arguments": ["-c", "cat; pwd"], "stdin": "in\n",
                "working_dir": dir.path().to_str().unwrap()}),
            )
            .await
            .unwrap();
        let expected = format!("in\n{}", dir.path().canonicalize().unwrap().display());
        assert_eq!(out.rows[0]["stdout"], expected);
    }

    #[tokio::test]
    async fn lines_output_publishes_one_row_per_line() {
        let out = run(json!({"program": "printf", "arguments": ["a\\n\\nb\\n"], "output": "lines"}))
            .await
            .unwrap();
        let lines: Vec<_> = out.rows.iter().map(|r| r["line"].as_str().unwrap()).collect();
        assert_eq!(lines, vec!["a", "", "b"]);
        assert_eq!(out.rows[0]["exit_code"], 0);
        let out = run(json!({"program": "true", "output": "lines"})).await.unwrap();
        assert_eq!((out.status, out.rows.len()), (Status::Success, 0));
    }

    #[tokio::test]
    async fn non_success_exit_fails_with_last_stderr_line_and_keeps_rows() {
        let out = run(json!({"program": "sh", "arguments": ["-c", "echo one >&2; echo two >&2; exit 3"]}))
            .await
            .unwrap();
        assert_eq!((out.status, out.error.as_str()), (Status::Failed, "two"));
        assert_eq!(out.rows[0]["exit_code"], 3);
        let out = run(json!({"program": "sh", "arguments": ["-c", "exit 3"], "success_codes": [0, 3]}))
            .await
            .unwrap();
        assert_eq!(out.status, Status::Success);
        let out = run(json!({"program": "false"})).await.unwrap();
        assert_eq!(out.error, "exit code 1");
    }

    #[tokio::test]
    async fn bad_input_and_missing_program_are_clear_errors() {
        let err = run(json!({"program": "no-such-program-xyz"})).await.unwrap_err();
        assert_eq!(err.to_string(), "run_program: no-such-program-xyz: program not found");
        let err = run(json!({"program": "echo", "arguments": "'a"})).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "run_program: property 'arguments': unterminated ' quote"
        );
        let err = run(json!({"program": "echo", "output": "csv"})).await.unwrap_err();
        assert!(matches!(err, ActivityError::InvalidInput(_)), "{err}");
    }

    #[tokio::test]
    async fn timeout_kills_the_whole_tree() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("survived");
        let mut ctx = ctx();
        ctx.deadline = Some(tokio::time::Instant::now() + Duration::from_millis(300));
        let script = format!("(sleep 1; touch '{}') & sleep 30", marker.display());
        let err = RunProgram
            .run(&ctx, json!({"program": "sh", "arguments": ["-c", script]}))
            .await
            .unwrap_err();
        assert_eq!(err, ActivityError::TimedOut);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(!marker.exists(), "a grandchild outlived the timeout");
    }
}
