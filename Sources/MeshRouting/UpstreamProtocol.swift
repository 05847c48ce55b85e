import MeshConfig

/// The protocol a cluster speaks to its endpoints, chosen the way istiod's cluster builder
/// configures a sidecar's outbound cluster (`setUpstreamProtocol`, then `applyH2Upgrade`, then
/// `applyConnectionPool` in pilot/pkg/networking/core):
///
/// 1. An HTTP2 or GRPC port gets HTTP/2 (h2c); a port whose protocol Istio cannot tell (no
///    `protocol`, no `appProtocol`, no `http-`/`grpc-`/`http2-` name prefix) is sniffed, and
///    its cluster uses the client's protocol; any other HTTP port gets HTTP/1.1.
/// 2. `h2UpgradePolicy: UPGRADE` turns an HTTP/1.1 cluster into an HTTP/2 one (a sniffed port
///    keeps the client's protocol: istiod only upgrades a cluster that has no protocol options
///    yet). Istio's mesh-wide default, `DO_NOT_UPGRADE`, leaves it alone.
/// 3. `useClientProtocol: true` makes any cluster use the client's protocol, even an HTTP2 port.
public enum UpstreamProtocol: String, Sendable, Hashable {
    case http1 = "HTTP/1.1"
    case http2 = "HTTP/2"
    /// Envoy's `use_downstream_protocol_config`: HTTP/2 for a request that arrived over HTTP/2,
    /// HTTP/1.1 for one that arrived over HTTP/1.1.
    case client = "client protocol"

    public init(port: PortProtocol, connectionPool: ConnectionPoolSettings?) {
        var chosen: UpstreamProtocol
        if port.isHTTP2 {
            chosen = .http2
        } else if port == .unknown {
            chosen = .client
        } else {
            chosen = .http1
        }
        if chosen == .http1, Self.upgradesToHTTP2(connectionPool?.http) {
            chosen = .http2
        }
        if connectionPool?.http?.useClientProtocol == true { chosen = .client }
        self = chosen
    }

    /// Istio's `shouldH2Upgrade`: the DestinationRule's policy decides when set; otherwise the
    /// mesh-wide policy, `DO_NOT_UPGRADE` by default (meshsim reads no MeshConfig).
    private static func upgradesToHTTP2(_ http: ConnectionPoolSettings.HTTPSettings?) -> Bool {
        guard let http else { return false }
        if http.useClientProtocol == true { return false }
        return http.h2UpgradePolicy == .upgrade
    }

    /// Whether a request is sent over HTTP/2; `clientUsesHTTP2` says how it arrived.
    public func usesHTTP2(clientUsesHTTP2: Bool) -> Bool {
        switch self {
        case .http1: return false
        case .http2: return true
        case .client: return clientUsesHTTP2
        }
    }

    /// Whether the cluster's HTTP/2 settings (`maxConcurrentStreams`, `http2KeepAlive`) reach
    /// its connections: istiod writes them into explicit HTTP/2 options only, so a cluster that
    /// follows the client's protocol opens h2c connections with Envoy's defaults.
    public var appliesHTTP2Settings: Bool { self == .http2 }
}
