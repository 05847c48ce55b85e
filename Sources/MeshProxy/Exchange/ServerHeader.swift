/// The `server` field of every answer the data plane gives, proxied or local: Envoy overwrites
/// it (`server_header_transformation: OVERWRITE`) with its server name, which Istio leaves at
/// Envoy's default, `envoy`, on sidecar outbound listeners (`GetProxyHeadersFromProxyConfig`;
/// inbound ones say `istio-envoy`). meshsim plays the client's sidecar, so its answers say the
/// same; the `x-meshsim-*` fields are where it names itself.
enum ServerHeader {
    static let value = "envoy"
}
