/// Istio's rules for a DestinationRule traffic policy (top level, per subset, per port):
/// connection pool, outlier detection, load balancer, client TLS, tunnel and retry budget.
enum TrafficPolicyRules {
    static func validate(_ policy: TrafficPolicy?, namespace: String, at path: FieldPath, into findings: inout ValidationFindings) {
        guard let policy else { return }
        // Istio reads the resource through protobuf, where an empty list is an unset field.
        if policy.outlierDetection == nil && policy.connectionPool == nil && policy.loadBalancer == nil && policy.tls == nil
            && (policy.portLevelSettings ?? []).isEmpty && policy.tunnel == nil && policy.proxyProtocol == nil && policy.retryBudget == nil
        {
            findings.error(path, "traffic policy must have at least one field")
            return
        }
        if policy.tunnel != nil && policy.proxyProtocol != nil {
            findings.error(path, "tunnel and proxyProtocol must not be set together")
            return
        }
        outlierDetection(policy.outlierDetection, at: path / "outlierDetection", into: &findings)
        connectionPool(policy.connectionPool, at: path / "connectionPool", into: &findings)
        loadBalancer(policy.loadBalancer, outlier: policy.outlierDetection, at: path / "loadBalancer", into: &findings)
        tls(policy.tls, namespace: namespace, at: path / "tls", into: &findings)
        portLevelSettings(policy.portLevelSettings, namespace: namespace, at: path / "portLevelSettings", into: &findings)
        tunnel(policy.tunnel, at: path / "tunnel", into: &findings)
        retryBudget(policy.retryBudget, at: path / "retryBudget", into: &findings)
    }

    static func outlierDetection(_ outlier: OutlierDetection?, at path: FieldPath, into findings: inout ValidationFindings) {
        guard let outlier else { return }
        if let time = outlier.baseEjectionTime { findings.add(CommonRules.duration(time), at: path / "baseEjectionTime") }
        if let errors = outlier.consecutiveErrors, errors != 0 {
            findings.warning(path / "consecutiveErrors", "outlier detection consecutive errors is deprecated, use consecutiveGatewayErrors or consecutive5xxErrors instead")
        }
        if outlier.splitExternalLocalOriginErrors != true && (outlier.consecutiveLocalOriginFailures ?? 0) > 0 {
            findings.error(path / "consecutiveLocalOriginFailures", "outlier detection consecutive local origin failures is specified, but split external local origin errors is set to false")
        }
        if let interval = outlier.interval { findings.add(CommonRules.duration(interval), at: path / "interval") }
        findings.add(CommonRules.percent(outlier.maxEjectionPercent ?? 0), at: path / "maxEjectionPercent")
        findings.add(CommonRules.percent(outlier.minHealthPercent ?? 0), at: path / "minHealthPercent")
        // Only the CRD schema bounds these (minimum 100, maximum 599).
        for (i, code) in (outlier.outlierDetectionHttpErrorCodes ?? []).enumerated() where !(100...599).contains(code) {
            let bound = code < 100 ? "greater than or equal to 100" : "less than or equal to 599"
            findings.error((path / "outlierDetectionHttpErrorCodes")[i], "Invalid value: \(code): should be \(bound)")
        }
    }

    static func connectionPool(_ pool: ConnectionPoolSettings?, at path: FieldPath, into findings: inout ValidationFindings) {
        guard let pool else { return }
        if pool.http == nil && pool.tcp == nil {
            findings.error(path, "connection pool must have at least one field")
            return
        }
        if let http = pool.http {
            let httpPath = path / "http"
            let counts: [(Int32?, String, String)] = [
                (http.http1MaxPendingRequests, "http1MaxPendingRequests", "http1 max pending requests must be non-negative"),
                (http.http2MaxRequests, "http2MaxRequests", "http2 max requests must be non-negative"),
                (http.maxRequestsPerConnection, "maxRequestsPerConnection", "max requests per connection must be non-negative"),
                (http.maxRetries, "maxRetries", "max retries must be non-negative"),
            ]
            for (value, field, message) in counts where (value ?? 0) < 0 { findings.error(httpPath / field, message) }
            if let idle = http.idleTimeout { findings.add(CommonRules.duration(idle), at: httpPath / "idleTimeout") }
            if http.h2UpgradePolicy == .upgrade && http.useClientProtocol == true {
                findings.error(httpPath / "useClientProtocol", "use client protocol must not be true when H2UpgradePolicy is UPGRADE")
            }
            if (http.maxConcurrentStreams ?? 0) < 0 {
                findings.error(httpPath / "maxConcurrentStreams", "max concurrent streams must be non-negative")
            }
            if let keepalive = http.http2KeepAlive {
                let keepalivePath = httpPath / "http2KeepAlive"
                if let interval = keepalive.interval {
                    findings.add(CommonRules.duration(interval), at: keepalivePath / "interval")
                } else {
                    findings.error(keepalivePath, "http2 keepalive interval is required")
                }
                if let timeout = keepalive.timeout {
                    findings.add(CommonRules.duration(timeout), at: keepalivePath / "timeout")
                } else {
                    findings.error(keepalivePath, "http2 keepalive timeout is required")
                }
            }
        }
        if let tcp = pool.tcp {
            let tcpPath = path / "tcp"
            if (tcp.maxConnections ?? 0) < 0 { findings.error(tcpPath / "maxConnections", "max connections must be non-negative") }
            if let timeout = tcp.connectTimeout { findings.add(CommonRules.duration(timeout), at: tcpPath / "connectTimeout") }
            if let duration = tcp.maxConnectionDuration { findings.add(CommonRules.duration(duration), at: tcpPath / "maxConnectionDuration") }
            // 0s disables the idle timeout; Istio skips anything that truncates to 0ms.
            if let idle = tcp.idleTimeout, idle.nanoseconds / CommonRules.millisecond != 0 {
                findings.add(CommonRules.duration(idle), at: tcpPath / "idleTimeout")
            }
            if let keepalive = tcp.tcpKeepalive {
                if let time = keepalive.time { findings.add(CommonRules.duration(time), at: tcpPath / "tcpKeepalive" / "time") }
                if let interval = keepalive.interval { findings.add(CommonRules.duration(interval), at: tcpPath / "tcpKeepalive" / "interval") }
            }
        }
    }

    static func loadBalancer(_ settings: LoadBalancerSettings?, outlier: OutlierDetection?, at path: FieldPath, into findings: inout ValidationFindings) {
        guard let settings else { return }
        // The CRD's oneOf (protobuf's, for istioctl).
        if [settings.simple != nil, settings.consistentHash != nil, settings.backendUtilization != nil].filter({ $0 }).count > 1 {
            findings.error(path, "only one of simple, consistentHash or backendUtilization may be set")
        }
        if let hash = settings.consistentHash {
            consistentHash(hash, at: path / "consistentHash", into: &findings)
        }
        if settings.localityLbSetting != nil && settings.zoneAwareLbSetting != nil {
            findings.error(path, "only one of localityLbSetting and zoneAwareLbSetting can be set")
        }
        LocalityRules.localityLbSetting(settings.localityLbSetting, outlier: outlier, at: path / "localityLbSetting", into: &findings)
        LocalityRules.zoneAwareLbSetting(settings.zoneAwareLbSetting, outlier: outlier, at: path / "zoneAwareLbSetting", into: &findings)
        if let warmup = settings.warmup {
            let warmupPath = path / "warmup"
            if let duration = warmup.duration {
                findings.add(CommonRules.duration(duration), at: warmupPath / "duration")
            } else {
                findings.error(warmupPath, "duration is required")
            }
            if let minimum = warmup.minimumPercent {
                if minimum > 100 { findings.error(warmupPath / "minimumPercent", "minimumPercent value should be less than or equal to 100") }
                if minimum < 0 { findings.error(warmupPath / "minimumPercent", "minimumPercent value should be greater than or equal to 0") }
            }
            if let aggression = warmup.aggression, aggression <= 0 {
                findings.error(warmupPath / "aggression", "aggression should be greater than 0")
            }
        }
        if let seconds = settings.warmupDurationSecs {
            findings.add(CommonRules.schemaDuration(seconds), at: path / "warmupDurationSecs")
        }
    }

    static func consistentHash(_ hash: LoadBalancerSettings.ConsistentHashLB, at path: FieldPath, into findings: inout ValidationFindings) {
        let hashKeys = [hash.httpHeaderName != nil, hash.httpCookie != nil, hash.useSourceIp != nil, hash.httpQueryParameterName != nil]
        if hashKeys.filter({ $0 }).count > 1 {
            findings.error(path, "only one of httpHeaderName, httpCookie, useSourceIp or httpQueryParameterName may be set")
        }
        if hash.ringHash != nil && hash.maglev != nil {
            findings.error(path, "only one of ringHash or maglev may be set")
        }
        if let cookie = hash.httpCookie {
            if (cookie.name ?? "").isEmpty { findings.error(path / "httpCookie" / "name", "name required for HttpCookie") }
            var names = Set<String>()
            for (i, attribute) in (cookie.attributes ?? []).enumerated() {
                let name = attribute.name ?? ""
                let attributePath = (path / "httpCookie" / "attributes")[i] / "name"
                if name.isEmpty {
                    findings.error(attributePath, "cookie attribute name cannot be empty")
                } else if !names.insert(name).inserted {
                    findings.error(attributePath, "duplicate cookie attribute name: \(name)")
                }
            }
        }
        let hasAlgorithm = hash.ringHash != nil || hash.maglev != nil
        if let size = hash.minimumRingSize, size != 0 {
            findings.warning(path / "minimumRingSize", "consistent hash MinimumRingSize is deprecated, use ConsistentHashLB's RingHash configuration instead")
            if hasAlgorithm {
                findings.error(path / "minimumRingSize", "only one of MinimumRingSize or Maglev/Ringhash can be specified")
            }
        }
        if let maglev = hash.maglev {
            let size = maglev.tableSize ?? 0
            let tablePath = path / "maglev" / "tableSize"
            if size == 0 { findings.error(tablePath, "tableSize must be set for maglev") }
            if size >= 5_000_011 { findings.error(tablePath, "tableSize must be less than 5000011 for maglev") }
            if !isPrime(size) { findings.error(tablePath, "tableSize must be a prime number for maglev") }
        }
    }

    /// Envoy's primality test for Maglev table sizes (0 is not prime; 1, 2 and 3 are taken as prime).
    /// Trial division for table-sized numbers; deterministic Miller-Rabin above, so that a huge
    /// value in a file cannot stall validation.
    static func isPrime(_ x: UInt64) -> Bool {
        if x != 0 && x < 4 { return true }
        if x & 1 == 0 { return false }
        if x < 1 << 32 {
            var factor: UInt64 = 3
            while factor <= x / factor {
                if x % factor == 0 { return false }
                factor += 2
            }
            return true
        }
        func mulmod(_ a: UInt64, _ b: UInt64) -> UInt64 {
            let product = a.multipliedFullWidth(by: b)
            return x.dividingFullWidth((product.high, product.low)).remainder
        }
        func powmod(_ base: UInt64, _ exponent: UInt64) -> UInt64 {
            var result: UInt64 = 1, base = base % x, exponent = exponent
            while exponent > 0 {
                if exponent & 1 == 1 { result = mulmod(result, base) }
                base = mulmod(base, base)
                exponent >>= 1
            }
            return result
        }
        var d = x - 1, r = 0
        while d & 1 == 0 { d >>= 1; r += 1 }
        // These bases decide primality for every 64-bit integer.
        witnesses: for a: UInt64 in [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37] {
            var y = powmod(a, d)
            if y == 1 || y == x - 1 { continue }
            for _ in 0..<max(r - 1, 0) {
                y = mulmod(y, y)
                if y == x - 1 { continue witnesses }
            }
            return false
        }
        return true
    }

    static func tls(_ settings: ClientTLSSettings?, namespace: String, at path: FieldPath, into findings: inout ValidationFindings) {
        guard let settings else { return }
        let credentialName = settings.credentialName ?? ""
        let caCertificates = settings.caCertificates ?? ""
        // `subjectAltNames: []` is unset once Istio has read it into protobuf.
        let hasSubjectAltNames = !(settings.subjectAltNames ?? []).isEmpty
        if credentialName.hasPrefix("configmap://") {
            findings.add(configMapCredentialProblem(credentialName, namespace: namespace), at: path / "credentialName")
        }
        if settings.insecureSkipVerify == true {
            if settings.mode == .simple && (!caCertificates.isEmpty || !credentialName.isEmpty || hasSubjectAltNames) {
                findings.error(path / "insecureSkipVerify", "cannot specify CaCertificates or CredentialName or SubjectAltNames when InsecureSkipVerify is set true")
            }
            if settings.mode == .mutual && (!caCertificates.isEmpty || hasSubjectAltNames) {
                findings.error(path / "insecureSkipVerify", "cannot specify CaCertificates or SubjectAltNames when InsecureSkipVerify is set true")
            }
        }
        if (settings.mode == .simple || settings.mode == .mutual) && !credentialName.isEmpty {
            // The credential supplies certificates, key and CA; inline ones would conflict.
            let inline = [settings.clientCertificate, settings.caCertificates, settings.privateKey, settings.caCrl]
            if inline.contains(where: { !($0 ?? "").isEmpty }) {
                findings.error(path / "credentialName", "cannot specify client certificates or CA certificate or CA CRL If credentialName is set")
            }
            return
        }
        if settings.mode == .mutual {
            if (settings.clientCertificate ?? "").isEmpty { findings.error(path / "clientCertificate", "client certificate required for mutual tls") }
            if (settings.privateKey ?? "").isEmpty { findings.error(path / "privateKey", "private key required for mutual tls") }
        }
    }

    /// `configmap://namespace/name`, read from this resource's own namespace only.
    static func configMapCredentialProblem(_ credentialName: String, namespace: String) -> String? {
        let pieces = credentialName.dropFirst("configmap://".count).split(separator: "/", omittingEmptySubsequences: false)
        let quoted = NameRules.goQuoted(credentialName)
        if pieces.count <= 1 { return "invalid configmap:// credentialName: invalid resource name \(quoted). Expected namespace and name" }
        if pieces[0].isEmpty { return "invalid configmap:// credentialName: invalid resource name \(quoted). Expected namespace" }
        if pieces[1].isEmpty { return "invalid configmap:// credentialName: invalid resource name \(quoted). Expected name" }
        if pieces[0] != namespace || namespace.isEmpty {
            return "invalid configmap:// credentialName: namespace must match the configuration namespace \(NameRules.goQuoted(namespace))"
        }
        return nil
    }

    static func portLevelSettings(_ settings: [TrafficPolicy.PortTrafficPolicy]?, namespace: String, at path: FieldPath, into findings: inout ValidationFindings) {
        let settings = settings ?? []
        if settings.count > 4096 { findings.error(path, "Too many: \(settings.count): must have at most 4096 items") }
        for (i, setting) in settings.enumerated() {
            if setting.port == nil { findings.error(path[i] / "port", "portTrafficPolicy must have valid port") }
            if setting.outlierDetection == nil && setting.connectionPool == nil && setting.loadBalancer == nil && setting.tls == nil {
                findings.error(path[i], "port traffic policy must have at least one field")
                continue
            }
            // Istio merges port-level results through its error-only path: warnings are dropped.
            var portFindings = ValidationFindings()
            outlierDetection(setting.outlierDetection, at: path[i] / "outlierDetection", into: &portFindings)
            connectionPool(setting.connectionPool, at: path[i] / "connectionPool", into: &portFindings)
            loadBalancer(setting.loadBalancer, outlier: setting.outlierDetection, at: path[i] / "loadBalancer", into: &portFindings)
            tls(setting.tls, namespace: namespace, at: path[i] / "tls", into: &portFindings)
            findings.mergeErrors(of: portFindings)
        }
    }

    static func tunnel(_ tunnel: TrafficPolicy.TunnelSettings?, at path: FieldPath, into findings: inout ValidationFindings) {
        guard let tunnel else { return }
        if let proto = tunnel.protocol, !proto.isEmpty, proto != "CONNECT", proto != "POST" {
            findings.error(path / "protocol", "tunnel protocol must be \"CONNECT\" or \"POST\"")
        }
        let host = tunnel.targetHost ?? ""
        if let fqdnProblem = NameRules.fqdn(host), let ipProblem = AddressRules.ipAddress(host) {
            findings.error(path / "targetHost", "tunnel target host must be valid FQDN or IP address: \(fqdnProblem); \(ipProblem)")
        }
        if let problem = NameRules.port(Int(tunnel.targetPort ?? 0)) {
            findings.error(path / "targetPort", "tunnel target port is invalid: \(problem)")
        }
    }

    /// Only the CRD schema constrains a retry budget.
    static func retryBudget(_ budget: TrafficPolicy.RetryBudget?, at path: FieldPath, into findings: inout ValidationFindings) {
        guard let percent = budget?.percent else { return }
        if percent < 0 || percent > 100 {
            findings.error(path / "percent", "percent must be between 0 and 100")
        }
    }
}
