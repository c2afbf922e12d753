//! The standard activities of `spec/activities.md`, one module per activity, grouped by the
//! spec's categories. [`standard`] is the one explicit, alphabetical list of them.

use std::sync::Arc;

use scorch_activity::Registry;

pub mod control;
pub mod files;
pub mod host;
mod io_words;
pub mod monitor;
pub mod remote;
mod syslog;
pub mod system;
#[cfg(test)]
mod test_peers;
pub mod text;
pub mod utilities;

/// A registry holding every standard activity.
pub fn standard() -> Registry {
    let mut registry = Registry::default();
    let all: Vec<Arc<dyn scorch_activity::Activity>> = vec![
        Arc::new(text::AppendLine),
        Arc::new(host::ApplyXslt),
        Arc::new(monitor::CheckSchedule),
        Arc::new(utilities::CompareValues),
        Arc::new(files::CompressFile),
        Arc::new(files::CopyFile),
        Arc::new(files::CreateFolder),
        Arc::new(files::DecompressFile),
        Arc::new(files::DeleteFile),
        Arc::new(files::DeleteFolder),
        Arc::new(text::DeleteLine),
        Arc::new(host::EndProcess),
        Arc::new(text::FindText),
        Arc::new(utilities::FormatDateTime),
        Arc::new(utilities::GenerateRandomText),
        Arc::new(utilities::GetCounter),
        Arc::new(remote::GetComputerStatus),
        Arc::new(host::GetDiskSpaceStatus),
        Arc::new(files::GetFileStatus),
        Arc::new(remote::GetInternetApplicationStatus),
        Arc::new(host::GetProcessStatus),
        Arc::new(host::GetServiceStatus),
        Arc::new(remote::GetSnmpVariable),
        Arc::new(utilities::GetVariable),
        Arc::new(control::InitializeData),
        Arc::new(text::InsertLine),
        Arc::new(remote::InvokeWebService),
        Arc::new(control::InvokeRunbook),
        Arc::new(utilities::MapPublishedData),
        Arc::new(utilities::ModifyCounter),
        Arc::new(files::MoveFile),
        Arc::new(host::MoveFolder),
        Arc::new(host::PgpDecryptFile),
        Arc::new(host::PgpEncryptFile),
        Arc::new(remote::QueryDatabase),
        Arc::new(utilities::QueryJson),
        Arc::new(utilities::QueryXml),
        Arc::new(text::ReadLine),
        Arc::new(files::RenameFile),
        Arc::new(control::ReturnData),
        Arc::new(system::RunProgram),
        Arc::new(system::RunScript),
        Arc::new(remote::RunSshCommand),
        Arc::new(text::SearchAndReplaceText),
        Arc::new(remote::SendEmail),
        Arc::new(host::SendEventLogMessage),
        Arc::new(remote::SendPlatformEvent),
        Arc::new(remote::SendSnmpTrap),
        Arc::new(remote::SendSyslogMessage),
        Arc::new(remote::SetSnmpVariable),
        Arc::new(host::StartStopService),
        Arc::new(remote::WriteToDatabase),
    ];
    for activity in all {
        registry.register(activity);
    }
    for (activity, watch) in monitor::monitors() {
        registry.register_monitor(activity, watch);
    }
    registry
}
