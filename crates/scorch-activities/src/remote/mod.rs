//! Other computers and services: activities that reach peers over the network.

mod http_clients;
mod invoke_web_service;

pub use invoke_web_service::InvokeWebService;
