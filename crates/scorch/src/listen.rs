//! Binding the roles' ports, with one clear line when a port cannot be had.

use std::net::{IpAddr, SocketAddr};

use tokio::net::TcpListener;

/// Binds `bind:port` for `role`; the error names the port, why, and the flag that changes it.
pub async fn listen(role: &str, bind: IpAddr, port: u16, flag: &str) -> Result<TcpListener, String> {
    let addr = SocketAddr::new(bind, port);
    TcpListener::bind(addr).await.map_err(|e| {
        let why = match e.kind() {
            std::io::ErrorKind::AddrInUse => "the port is in use".to_string(),
            std::io::ErrorKind::PermissionDenied => {
                "needs privileges (ports below 1024 need root or CAP_NET_BIND_SERVICE)".to_string()
            }
            std::io::ErrorKind::AddrNotAvailable => format!("{bind} is not an address of this machine"),
            _ => e.to_string(),
        };
        format!("scorch: cannot listen on port {port} for the {role} ({addr}): {why}; change it with {flag}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_port_in_use_is_one_clear_line() {
        let taken = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = taken.local_addr().unwrap().port();
        let err = listen("web service", IpAddr::from([127, 0, 0, 1]), port, "--web-port")
            .await
            .unwrap_err();
        assert!(
            err.contains(&format!("port {port}")) && err.contains("in use") && err.ends_with("--web-port"),
            "{err}"
        );
        assert!(!err.contains('\n'));
    }
}
