//! Runbook control: the start of a runbook and its return data. (`junction` is run by the
//! engine itself, since it reads the data bus; `invoke_runbook` needs a server.)

mod initialize_data;
mod return_data;

pub use initialize_data::InitializeData;
pub use return_data::ReturnData;
