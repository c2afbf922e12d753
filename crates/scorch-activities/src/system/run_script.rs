//! `run_script`: runs a script text with an interpreter and publishes the `NAME=VALUE` lines it
//! wrote to the file named by `$SCORCH_OUTPUT`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use scorch_activity::process::{self, ProcessSpec};
use scorch_activity::props::Props;
use scorch_activity::{Activity, ActivityContext, ActivityError, ActivityOutput, Descriptor, Row, Value};

use super::{finish, streams_row, success_codes};

const TYPE: &str = "run_script";

static DESCRIPTOR: Descriptor = Descriptor {
    type_name: TYPE,
    category: "System",
    summary: "Runs a bash (default), sh, python or pwsh script; publishes what it writes to $SCORCH_OUTPUT.",
    idempotent: false,
    properties: &["language", "script", "environment", "success_codes"],
    required: &["script"],
    publishes: &["exit_code", "stdout", "stderr"],
};

pub struct RunScript;

#[scorch_activity::async_trait]
impl Activity for RunScript {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    /// The script decides which names it publishes.
    fn published_fields(&self, _properties: &Value) -> Option<Vec<String>> {
        None
    }

    async fn run(&self, ctx: &ActivityContext, properties: Value) -> Result<ActivityOutput, ActivityError> {
        let props = Props::new(TYPE, properties)?;
        let language = props.choice("language", &["bash", "sh", "python", "pwsh"], "bash")?;
        let script = props.str("script")?;
        let mut env = props.str_map("environment")?;
        let success_codes = success_codes(&props)?;
        let (interpreter, args, extension) = interpreter(language, &env)?;

        let dir = ScratchDir::create(ctx)?;
        let script_path = dir.0.join(format!("script.{extension}"));
        let output_path = dir.0.join("output");
        write(&script_path, &script).await?;
        write(&output_path, "").await?;
        env.push(("SCORCH_OUTPUT".into(), output_path.display().to_string()));

        let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        args.push(script_path.display().to_string());
        let spec = ProcessSpec {
            program: interpreter.display().to_string(),
            args,
            env,
            ..Default::default()
        };
        let out = process::run(ctx, TYPE, spec).await?;
        let written = tokio::fs::read(&output_path)
            .await
            .map_err(|e| ActivityError::failed(TYPE, output_path.display(), e))?;
        let rows = aligned_rows(streams_row(&out), &parse_output(&String::from_utf8_lossy(&written)));
        Ok(finish(&out, &success_codes, rows))
    }
}

/// The interpreter found on the PATH the script will see, its arguments before the script
/// file, and the file extension it expects (`pwsh -File` insists on `.ps1`).
#[allow(
    clippy::disallowed_methods,
    reason = "the child inherits the server's PATH (unless the activity sets one), so the interpreter is looked up on it"
)]
fn interpreter(
    language: &str,
    env: &[(String, String)],
) -> Result<(PathBuf, &'static [&'static str], &'static str), ActivityError> {
    let (candidates, args, extension): (&[&str], &'static [&'static str], _) = match language {
        "sh" => (&["sh"], &[], "sh"),
        "python" => (&["python3", "python"], &[], "py"),
        "pwsh" => (&["pwsh"], &["-NoLogo", "-NoProfile", "-NonInteractive", "-File"], "ps1"),
        _ => (&["bash"], &[], "sh"),
    };
    let path = env
        .iter()
        .rev()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| OsString::from(v));
    let path = path.or_else(|| std::env::var_os("PATH")).unwrap_or_default();
    let found = candidates
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|candidate| is_executable(candidate));
    let program = found
        .ok_or_else(|| ActivityError::Failed(format!("{TYPE}: {language} is not installed on this runbook server")))?;
    Ok((program, args, extension))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.with_extension("exe").is_file()
}

async fn write(path: &Path, text: &str) -> Result<(), ActivityError> {
    tokio::fs::write(path, text)
        .await
        .map_err(|e| ActivityError::failed(TYPE, path.display(), e))
}

/// A private folder for the script and its output file, removed when dropped (also when a
/// timeout or cancellation drops the run).
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn create(ctx: &ActivityContext) -> Result<Self, ActivityError> {
        let ids = &ctx.ids;
        let name = format!(
            "scorch-{}-{}-{}-{:016x}",
            ids.instance_id,
            ids.activity_id,
            ids.attempt,
            rand::random::<u64>()
        );
        let path = std::env::temp_dir().join(name);
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(&path)
            .map_err(|e| ActivityError::failed(TYPE, path.display(), e))?;
        Ok(Self(path))
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        // Best effort: a leftover folder in the temp dir harms nobody.
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The `NAME=VALUE` lines, split at the first `=`, each name with its values in writing order.
/// Blank lines and lines without `=` are ignored.
fn parse_output(text: &str) -> Vec<(String, Vec<String>)> {
    let mut values: Vec<(String, Vec<String>)> = Vec::new();
    for (name, value) in text.lines().filter_map(|line| line.split_once('=')) {
        let name = name.trim();
        if name.is_empty() {
            continue;
        }
        match values.iter_mut().find(|(n, _)| n == name) {
            Some((_, all)) => all.push(value.to_string()),
            None => values.push((name.to_string(), vec![value.to_string()])),
        }
    }
    values
}

/// One row per value of the longest multi-valued name: multi-valued names aligned by index
/// (shorter ones padded with ""), single-valued names repeated in every row. `base` fields win
/// over a script name that repeats them.
fn aligned_rows(base: Row, values: &[(String, Vec<String>)]) -> Vec<Row> {
    let count = values.iter().map(|(_, v)| v.len()).max().unwrap_or(1).max(1);
    (0..count)
        .map(|index| {
            let mut row = base.clone();
            for (name, all) in values {
                let value = if all.len() == 1 {
                    &all[0]
                } else {
                    all.get(index).map_or("", String::as_str)
                };
                row.entry(name.as_str()).or_insert_with(|| value.into());
            }
            row
        })
        .collect()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use scorch_activity::{Status, json};

    async fn run(properties: Value) -> Result<ActivityOutput, ActivityError> {
        RunScript
            .run(&ActivityContext::standalone(TYPE, std::env::temp_dir()), properties)
            .await
    }

    #[test]
    fn output_lines_split_at_the_first_equals_sign() {
        let parsed = parse_output("A=1\n\nnot a pair\nB=x=y\r\nA=2\n =skip\nC=\n");
        let expected = [("A", vec!["1", "2"]), ("B", vec!["x=y"]), ("C", vec![""])];
        let expected: Vec<_> = expected
            .iter()
            .map(|(n, v)| (n.to_string(), v.iter().map(|s| s.to_string()).collect()))
            .collect();
        assert_eq!(parsed, expected);
    }

    #[tokio::test]
    async fn multi_valued_names_are_aligned_by_index() {
        let script = r#"
            echo hello
            printf 'HOST=a\nHOST=b\nHOST=c\nPORT=1\nPORT=2\nREGION=eu\n' >> "$SCORCH_OUTPUT"
        "#;
        let out = run(json!({"language": "bash", "script": script})).await.unwrap();
        assert_eq!(out.status, Status::Success);
        let table: Vec<_> = out
            .rows
            .iter()
            .map(|r| (r["HOST"].clone(), r["PORT"].clone(), r["REGION"].clone()))
            .collect();
        assert_eq!(
            table,
            vec![
                (json!("a"), json!("1"), json!("eu")),
                (json!("b"), json!("2"), json!("eu")),
                (json!("c"), json!(""), json!("eu")),
            ]
        );
        assert!(out.rows.iter().all(|r| r["stdout"] == "hello" && r["exit_code"] == 0));
    }

    #[tokio::test]
    async fn runs_sh_and_python_with_environment() {
        let out = run(
            json!({"language": "sh", "script": "echo \"X=$GREETING\" > \"$SCORCH_OUTPUT\"",
            "environment": {"GREETING": "hi"}}),
        )
        .await
        .unwrap();
        assert_eq!(out.rows[0]["X"], "hi");
        let script = "import os\nopen(os.environ['SCORCH_OUTPUT'], 'w').write('SUM=%d\\n' % (2 + 3))";
        let out = run(json!({"language": "python", "script": script})).await.unwrap();
        assert_eq!((out.rows.len(), &out.rows[0]["SUM"]), (1, &json!("5")));
    }

    #[tokio::test]
    async fn failure_keeps_published_data_and_cleans_up() {
        let script = "echo \"DIR=$(dirname \"$SCORCH_OUTPUT\")\" >> \"$SCORCH_OUTPUT\"; echo 'disk full' >&2; exit 4";
        let out = run(json!({"language": "bash", "script": script})).await.unwrap();
        assert_eq!((out.status, out.error.as_str()), (Status::Failed, "disk full"));
        assert_eq!(out.rows[0]["exit_code"], 4);
        let dir = out.rows[0]["DIR"].as_str().unwrap();
        assert!(
            dir.contains("scorch-") && !Path::new(dir).exists(),
            "{dir} was not removed"
        );
    }

    #[tokio::test]
    async fn timeout_removes_the_scratch_folder() {
        let mut ctx = ActivityContext::standalone(TYPE, std::env::temp_dir());
        ctx.ids.activity_id = format!("timeout_{:x}", rand::random::<u64>());
        ctx.deadline = Some(tokio::time::Instant::now() + std::time::Duration::from_millis(300));
        let err = RunScript.run(&ctx, json!({"script": "sleep 30"})).await.unwrap_err();
        assert_eq!(err, ActivityError::TimedOut);
        let left = std::fs::read_dir(std::env::temp_dir())
            .unwrap()
            .filter_map(Result::ok)
            .any(|entry| entry.file_name().to_string_lossy().contains(&ctx.ids.activity_id));
        assert!(!left, "the scratch folder outlived the run");
    }

    #[tokio::test]
    async fn missing_interpreter_is_named() {
        let empty = tempfile::tempdir().unwrap();
        let props = json!({"language": "pwsh", "script": "Write-Output 1",
            "environment": {"PATH": empty.path().to_str().unwrap()}});
        let err = run(props).await.unwrap_err().to_string();
        assert_eq!(err, "run_script: pwsh is not installed on this runbook server");
        let err = run(json!({"language": "perl", "script": "1"})).await.unwrap_err();
        assert!(matches!(err, ActivityError::InvalidInput(_)), "{err}");
    }
}
