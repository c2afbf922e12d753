//! What the commands print and read on the terminal: tables, runbook paths, secrets from
//! standard input.

use super::http::ClientError;

/// Prints rows as aligned columns under a header.
pub fn table(header: &[&str], rows: Vec<Vec<String>>) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<String>| {
        let last = cells.len().saturating_sub(1);
        let text: Vec<String> = cells
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                if i == last {
                    c
                } else {
                    format!("{c:<width$}", width = widths[i])
                }
            })
            .collect();
        text.join("  ")
    };
    out!("{}", line(header.iter().map(|h| h.to_string()).collect()));
    for row in rows {
        out!("{}", line(row));
    }
}

/// `FOLDER/NAME` of a runbook ("NAME" at the root).
pub fn runbook_path(folder: &str, name: &str) -> String {
    if folder.is_empty() {
        name.to_string()
    } else {
        format!("{folder}/{name}")
    }
}

/// Reads a secret from standard input: on a terminal, prompts and reads it without echo; from a
/// pipe, the first line, without its line ending.
pub fn read_stdin_line(what: &str) -> Result<String, ClientError> {
    use std::io::IsTerminal as _;
    let unreadable =
        |e: std::io::Error| ClientError::invalid(format!("cannot read the {what} from standard input: {e}"));
    let line = if std::io::stdin().is_terminal() {
        rpassword::prompt_password_with_config(format!("{}: ", capitalized(what)), terminal()).map_err(unreadable)?
    } else {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map_err(unreadable)?;
        line
    };
    let line = line.trim_end_matches(['\r', '\n']).to_string();
    if line.is_empty() {
        return Err(ClientError::invalid(format!("standard input gave an empty {what}")));
    }
    Ok(line)
}

/// The terminal standard input is, and the prompt on standard error (standard output is for what
/// the command prints, a token): not `/dev/tty`, which a process without a controlling terminal
/// cannot open.
#[cfg(unix)]
fn terminal() -> rpassword::Config {
    rpassword::ConfigBuilder::new()
        .input_file_path("/dev/stdin")
        .output_file_path("/dev/stderr")
        .build()
}

#[cfg(not(unix))]
fn terminal() -> rpassword::Config {
    rpassword::ConfigBuilder::new().build()
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
