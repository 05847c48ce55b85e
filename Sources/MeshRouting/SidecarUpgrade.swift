import Foundation

/// How Istio's sidecar treats a request that asks to switch protocols: its HTTP connection
/// manager names one upgrade, `websocket` (`upgrade_configs`), so a WebSocket handshake is
/// routed and, once the pod answers 101, tunnelled; Envoy answers any other upgrade, and
/// CONNECT (which it treats as one), with 403 (`upgrade_failed`). `h2c` is the listener's own.
/// The proxy and `meshsim route` both decide here.
public enum SidecarUpgrade: Equatable, Sendable {
    /// A WebSocket handshake; the Upgrade value as the client sent it.
    case websocket(String)
    /// Refused with 403; what was asked (`CONNECT`, `Upgrade: TLS/1.2`), for messages.
    case refused(String)

    /// Envoy's `Utility::isUpgrade`: the Upgrade value when one of the Connection values names
    /// `upgrade` among its comma-separated tokens; nil for an ordinary request.
    public static func requestedProtocol(upgrade: String?, connection: [String]) -> String? {
        guard let upgrade else { return nil }
        let namesUpgrade = connection.contains { value in
            value.split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces).lowercased() == "upgrade" }
        }
        return namesUpgrade ? upgrade : nil
    }

    /// nil for an ordinary request and for `h2c`.
    public init?(method: String, requestedProtocol: String?) {
        if method == "CONNECT" {
            self = .refused("CONNECT")
            return
        }
        guard let requested = requestedProtocol else { return nil }
        switch requested.lowercased() {
        case "h2c": return nil
        case "websocket": self = .websocket(requested)
        default: self = .refused("Upgrade: \(requested)")
        }
    }
}
