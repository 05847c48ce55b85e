import MeshHTTP2
import MeshRouting
import NIOHTTP1

/// The client's request head as the exchange keeps it: method, target, version, and the fields
/// as bytes (`HeaderFields`), so that routing, the forwarded head and the access log read them
/// without a string made per field. A class: the parser's event, the exchange and routing's
/// `DownstreamRequest` each hold it, and every copy of a struct of four references cost four
/// retains and releases (measured: ~12 per request, more than the allocation it saves).
final class DownstreamRequestHead {
    let method: HTTPMethod
    /// The request target (`:path` on HTTP/2).
    let uri: String
    /// HTTP/1.0, HTTP/1.1, or 2.0 for an HTTP/2 stream.
    let version: HTTPVersion
    /// Names as sent (HTTP/1.1) or lower-case (HTTP/2); on HTTP/2 a Host made from `:authority`
    /// when the client sent none.
    let fields: HeaderFields
    /// The Host the target was resolved with: on HTTP/2 `:authority` (the Host field without
    /// one), else the first Host field's value; nil when there is none. Not stored: the request
    /// path reads the resolved `authority` (made from the same string), and a stored copy cost
    /// a retain and a release per request.
    var host: String? {
        if version.major == 2, targetError == nil, !authority.isEmpty { return authority }
        return first(.host)
    }
    /// Where the fields the proxy reads itself are (one scan for all of them).
    let known: KnownRequestFields
    /// The authority routing reads: from an absolute-form target, else the Host; "" when
    /// `targetError` is set (and for an HTTP/1.0 request without Host).
    let authority: String
    /// The target's path as routing and the upstream see it (normalized, `PathNormalization`).
    let path: String
    /// Why the target cannot be routed (the exchange answers 400), or nil.
    let targetError: ParseError?
    /// An HTTP/2 head whose Host is its `:authority` (`authority`) without a Host field among
    /// `fields`: one that came without Host, with an origin-form target (the usual request).
    /// Everything that reads Host reads it as a field that came last would be: `first(.host)`,
    /// `DownstreamRequest`'s headers, and the forwarded head (`ForwardedHeaders.writeRequest`'s
    /// `hostAfterFields`). Appending the field cost about 0.02 us per request.
    let hostIsAuthority: Bool

    /// `host`: the first Host value as a string (routing's authority), taken where a string of
    /// it already exists (the HTTP/1.1 parser's reused one, nghttp2's `:authority`) rather than
    /// made again from the fields. `known`: the fields' index when the caller made it already
    /// (to find Host), else made here.
    init(method: HTTPMethod, uri: String, version: HTTPVersion, fields: HeaderFields, host: String?, known: KnownRequestFields? = nil) {
        self.method = method
        self.uri = uri
        self.version = version
        self.fields = fields
        let known = known ?? KnownRequestFields(fields)
        self.known = known
        let target = Self.resolveTarget(uri: uri, host: host, version: version, known: known)
        self.authority = target.authority
        self.path = target.path
        self.targetError = target.error
        self.hostIsAuthority = false
    }

    /// The first value of a field the proxy reads itself, or nil.
    func first(_ name: KnownRequestFields.Name) -> String? {
        // Not `known[name].map { ... }`: the closure's capture retained the fields' storage
        // even for a field the request does not have.
        guard let index = known[name] else { return name == .host && hostIsAuthority ? authority : nil }
        return fields.value(at: index)
    }

    /// Whether the first Content-Type, lower-cased, starts with `application/grpc` (a gRPC call).
    /// Read on the value's bytes: made a string and lower-cased (a copy), a value of 16 bytes or
    /// more (`application/json`, `application/grpc`) cost two allocations per request. A value
    /// with a non-ASCII byte right after an ASCII match is judged as a string, as before (a
    /// combining mark joins the `c` into another character there).
    var hasGRPCContentType: Bool {
        guard let index = known[.contentType] else { return false }
        let prefix: StaticString = "application/grpc"
        let matched = fields.withField(at: index) { _, value -> Bool? in
            guard value.count >= prefix.utf8CodeUnitCount else {
                // Shorter, or non-ASCII somewhere: the string's own judgement.
                return value.contains { $0 >= 0x80 } ? nil : false
            }
            let head = UnsafeRawBufferPointer(rebasing: value[0..<prefix.utf8CodeUnitCount])
            guard FieldName.equalsLowercase(head.assumingMemoryBound(to: UInt8.self), prefix) else {
                return value.contains { $0 >= 0x80 } ? nil : false
            }
            return value.count > prefix.utf8CodeUnitCount && value[prefix.utf8CodeUnitCount] >= 0x80 ? nil : true
        }
        if let matched { return matched }
        return fields.value(at: index).lowercased().hasPrefix("application/grpc")
    }

    /// Whether the client sent a field the proxy reads itself.
    func contains(_ name: KnownRequestFields.Name) -> Bool {
        known[name] != nil || (name == .host && hostIsAuthority)
    }

    /// An HTTP/2 stream's head. `:authority` is the request's authority, as Envoy routes on it
    /// (RFC 9113 §8.3.1: a client must not send a `host` field that differs; one that does is
    /// not believed); a `host` field counts only without `:authority`. The authority is also
    /// the Host when none came, since the exchange reads Host on both protocols: as
    /// `hostIsAuthority` for an origin-form target, else added as a field.
    /// The parameters are plain (an initializer's are owned): a `consuming` one is a mutable
    /// binding, and lending it to a call (`KnownRequestFields`, the path's normalization)
    /// retained it for the call and released it after.
    convenience init(http2Method method: String, authority: String, path: String, fields: HeaderFields) {
        var known = KnownRequestFields(fields)
        var fields = fields
        guard !authority.isEmpty else {
            let host = known[.host].map { fields.value(at: $0) }
            self.init(
                method: HTTPMethod(rawValue: method), uri: path, version: HTTPVersion(major: 2, minor: 0), fields: fields, host: host,
                known: known)
            return
        }
        let target = PathNormalization.scanOriginForm(path)
        var hostIsAuthority = false
        if known[.host] == nil {
            if target.isOriginForm {
                hostIsAuthority = true
            } else {
                known.noteAppended(.host, at: fields.count)
                fields.append(name: "host", value: authority)
            }
        }
        self.init(
            http2Method: HTTPMethod(rawValue: method), authority: authority, uri: path, target: target, fields: fields, known: known,
            hostIsAuthority: hostIsAuthority)
    }

    /// An HTTP/2 head with an `:authority`, its strings moved in rather than copied (each copy
    /// was a retain here and a release when the argument went). The authority is not checked
    /// with `AuthorityValidation` again: nghttp2 checks every `:authority` a server receives
    /// with `nghttp2_check_authority`, which `AuthorityValidation` mirrors byte for byte, and
    /// fails the stream on a bad one. Any target but a plain origin-form path is resolved as
    /// every other head's is.
    /// `target`: `PathNormalization.scanOriginForm(uri)`. `hostIsAuthority`: see the property
    /// (only for an origin-form target, which this accepts whatever `known` says then: a head
    /// without Host has no second one).
    private init(
        http2Method method: HTTPMethod, authority: String, uri: String, target: (isOriginForm: Bool, needsWork: Bool),
        fields: HeaderFields, known: KnownRequestFields, hostIsAuthority: Bool
    ) {
        self.method = method
        self.version = HTTPVersion(major: 2, minor: 0)
        self.fields = fields
        self.known = known
        self.hostIsAuthority = hostIsAuthority
        // `resolveTarget`'s checks for an origin-form target, in its order, but the authority's;
        // the target's bytes read once for them and for the normalization's own test.
        if known[.secondHost] == nil, target.isOriginForm {
            self.path = target.needsWork ? PathNormalization.normalized(uri) : uri
            self.targetError = nil
            self.authority = authority
        } else {
            let target = Self.resolveTarget(uri: uri, host: authority, version: HTTPVersion(major: 2, minor: 0), known: known)
            self.path = target.path
            self.targetError = target.error
            self.authority = target.authority
        }
        self.uri = uri
    }

    /// The protocol an HTTP/1.1 request asks to switch to (RFC 9110 §7.8), as Envoy's
    /// `Utility::isUpgrade` sees one: an Upgrade field and a Connection field naming `upgrade`.
    /// The Upgrade value as sent (`websocket`); nil for an ordinary request (and on HTTP/2).
    /// Only a request with an Upgrade field gets this far, so strings are fine here.
    var upgradeProtocol: String? {
        guard version == .http1_1, let upgrade = first(.upgrade) else { return nil }
        var connection: [String] = []
        fields.forEachValue(named: "connection") { connection.append(String(decoding: $0, as: UTF8.self)) }
        return SidecarUpgrade.requestedProtocol(upgrade: upgrade, connection: connection)
    }

    /// Whether the connection stays open after this exchange (HTTP/1.x rules).
    var keepsConnectionAlive: Bool { HTTP1KeepAlive.isKeepAlive(self.fields, version: self.version) }
}
