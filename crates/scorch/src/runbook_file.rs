//! Reading runbook files: bounded size, every problem reported with file, line and key.

use std::path::Path;

use scorch_activity::Registry;
use scorch_engine::RegistryCatalog;
use scorch_model::{Plan, compile, load};

/// Runbook files larger than this are refused rather than read.
const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Reads and compiles a runbook file, or returns its problems as printable lines.
pub fn read_plan(path: &Path, registry: &Registry) -> Result<Plan, Vec<String>> {
    let name = path.display().to_string();
    let size = std::fs::metadata(path)
        .map_err(|e| vec![format!("{name}: cannot read: {}", io_reason(&e))])?
        .len();
    if size > MAX_FILE_BYTES {
        return Err(vec![format!(
            "{name}: {size} bytes is larger than the {MAX_FILE_BYTES}-byte limit for a runbook file"
        )]);
    }
    let text = std::fs::read_to_string(path).map_err(|e| vec![format!("{name}: cannot read: {}", io_reason(&e))])?;
    let render = |ds: Vec<scorch_model::Diagnostic>| ds.iter().map(|d| d.render(&name)).collect::<Vec<_>>();
    let loaded = load(&text).map_err(render)?;
    compile(&loaded, &RegistryCatalog(registry)).map_err(render)
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// `scorch runbook check`: 0 when every file is valid, 2 otherwise.
pub fn check_files(files: &[std::path::PathBuf]) -> u8 {
    let registry = scorch_activities::standard();
    let mut bad = 0;
    for file in files {
        match read_plan(file, &registry) {
            Ok(plan) => out!(
                "ok    {} ({}: {} activities)",
                file.display(),
                plan.runbook.name,
                plan.steps.len()
            ),
            Err(problems) => {
                bad += 1;
                for p in problems {
                    eprintln!("{p}");
                }
            }
        }
    }
    if bad > 0 {
        eprintln!("{bad} of {} files have problems", files.len());
        2
    } else {
        0
    }
}
