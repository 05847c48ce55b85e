// YAML that sets every field of Istio's VirtualService, DestinationRule, ServiceEntry and
// WorkloadEntry (istio/api networking/v1alpha3 and its CRD schema, 2026-07), nested messages and
// every enum value included, each oneof alternative in an entry of its own. All of it passes
// Istio's validation except `exponentialDelay` and `http2Error`, which the schema has but Istio's
// webhook rejects as not supported yet: they must still decode, to be reported as such.

enum ModelCompletenessFixtures {
    /// Both VirtualServices: the root (every VirtualService field) and the delegate it names.
    static let everyVirtualServiceField = #"""
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: reviews, namespace: shop}
        spec:
          hosts: [reviews.shop.svc.cluster.local]
          gateways: [mesh, shop/edge]
          exportTo: [".", istio-system]
          http:
          - name: everything-match
            match:
            - name: m0
              uri: {exact: /api/v1/reviews}
              scheme: {prefix: http}
              method: {regex: "GET|HEAD"}
              authority: {exact: reviews.shop}
              headers:
                x-user: {exact: jason}
                x-group: {prefix: beta-}
                x-trace: {regex: "[0-9a-f]+"}
              port: 9080
              sourceLabels: {app: productpage}
              gateways: [mesh]
              queryParams:
                debug: {exact: "1"}
                lang: {prefix: en}
                id: {regex: "[0-9]+"}
              ignoreUriCase: true
              withoutHeaders:
                x-skip: {exact: "yes"}
                x-old: {prefix: v0}
                x-bad: {regex: "bad.*"}
              sourceNamespace: frontend
              statPrefix: reviews-api
            route:
            - destination:
                host: reviews
                subset: v1
                port: {number: 9080}
              weight: 90
              headers:
                request:
                  set: {x-route: v1}
                  add: {x-added: "1"}
                  remove: [x-internal]
                response:
                  set: {x-served-by: v1}
                  add: {x-resp: "1"}
                  remove: [server]
            - destination: {host: reviews, subset: v2}
              weight: 10
            rewrite: {uri: /v1/reviews, authority: reviews.internal}
            timeout: 1.5s
            retries:
              attempts: 3
              perTryTimeout: 500ms
              retryOn: gateway-error,connect-failure,refused-stream
              retryRemoteLocalities: true
              retryIgnorePreviousHosts: false
              backoff: 25ms
            fault:
              delay: {fixedDelay: 2s, percentage: {value: 0.5}}
              abort: {httpStatus: 503, percentage: {value: 0.1}}
            mirror: {host: reviews-shadow, subset: v1, port: {number: 9080}}
            mirrorPercentage: {value: 12.5}
            corsPolicy:
              allowOrigins: [{exact: "https://shop.example"}, {prefix: "https://dev."}, {regex: "https://.*\\.example"}]
              allowMethods: [GET, POST]
              allowHeaders: [x-user]
              exposeHeaders: [x-served-by]
              maxAge: 24h
              allowCredentials: true
              unmatchedPreflights: FORWARD
            headers:
              request: {set: {x-mesh: meshsim}, add: {x-hop: "1"}, remove: [x-debug]}
              response: {set: {x-mesh: meshsim}, add: {x-hop: "1"}, remove: [x-envoy-upstream-service-time]}
          - name: redirect-port
            match: [{uri: {exact: /old}}]
            redirect: {uri: /new, authority: new.example, port: 8080, scheme: https, redirectCode: 308}
          - name: redirect-protocol-default
            match: [{uri: {prefix: /legacy/}}]
            redirect: {prefixRewrite: /modern/, derivePort: FROM_PROTOCOL_DEFAULT}
          - name: redirect-request-port
            match: [{uri: {exact: /here}}]
            redirect: {uri: /there, derivePort: FROM_REQUEST_PORT}
          - name: direct-string
            match: [{uri: {exact: /health}}]
            directResponse: {status: 200, body: {string: ok}}
          - name: direct-bytes
            match: [{uri: {exact: /teapot}}]
            directResponse: {status: 418, body: {bytes: aGVsbG8=}}
          - name: delegated
            match: [{uri: {prefix: /ratings}}]
            delegate: {name: ratings-routes, namespace: shop}
          - name: regex-rewrite
            match: [{uri: {regex: "/r/[0-9]+"}}]
            rewrite: {uriRegexRewrite: {match: "^/r/([0-9]+)$", rewrite: "/reviews/\\1"}}
            route: [{destination: {host: reviews, subset: v2}}]
            fault:
              delay: {exponentialDelay: 100ms, percentage: {value: 1}}
              abort: {grpcStatus: UNAVAILABLE, percentage: {value: 1}}
            mirrors:
            - destination: {host: reviews-shadow, subset: v2, port: {number: 9080}}
              percentage: {value: 50}
            corsPolicy: {allowOrigin: ["https://old.example"], unmatchedPreflights: IGNORE}
          - name: deprecated-percent
            match: [{uri: {prefix: /p}}]
            route: [{destination: {host: reviews}}]
            fault:
              delay: {fixedDelay: 1s, percent: 5}
              abort: {http2Error: REFUSED_STREAM, percentage: {value: 2}}
            mirror: {host: reviews-shadow}
            mirrorPercent: 20
            corsPolicy: {allowOrigins: [{exact: "https://a.example"}], unmatchedPreflights: UNSPECIFIED}
          - name: deprecated-percent-alt-name
            route: [{destination: {host: reviews}}]
            mirror: {host: reviews-shadow}
            mirror_percent: 30
          tls:
          - match:
            - sniHosts: [reviews.shop.svc.cluster.local]
              destinationSubnets: [10.0.0.0/16]
              port: 443
              sourceLabels: {app: productpage}
              gateways: [mesh]
              sourceNamespace: frontend
            route:
            - destination: {host: reviews, subset: v1, port: {number: 443}}
              weight: 100
          tcp:
          - match:
            - destinationSubnets: [10.1.0.0/16]
              port: 27017
              sourceSubnet: 10.2.0.0/16
              sourceLabels: {app: productpage}
              gateways: [mesh]
              sourceNamespace: frontend
            route:
            - destination: {host: reviews, subset: v1, port: {number: 27017}}
              weight: 100
        ---
        apiVersion: networking.istio.io/v1beta1
        kind: VirtualService
        metadata: {name: ratings-routes, namespace: shop}
        spec:
          http:
          - route: [{destination: {host: ratings}}]
        """#

    /// One DestinationRule; subsets and port-level settings carry the other oneof alternatives and enum values.
    static let everyDestinationRuleField = #"""
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: reviews, namespace: shop}
        spec:
          host: reviews.shop.svc.cluster.local
          exportTo: ["."]
          workloadSelector:
            matchLabels: {app: productpage}
          trafficPolicy:
            loadBalancer:
              simple: ROUND_ROBIN
              localityLbSetting:
                enabled: true
                distribute:
                - from: us-west/zone1/*
                  to: {"us-west/zone1/*": 80, "us-west/zone2/*": 20}
              warmupDurationSecs: 60s
            connectionPool:
              tcp:
                maxConnections: 100
                connectTimeout: 30ms
                tcpKeepalive: {probes: 9, time: 7200s, interval: 75s}
                maxConnectionDuration: 1h
                idleTimeout: 10m
              http:
                http1MaxPendingRequests: 64
                http2MaxRequests: 1000
                maxRequestsPerConnection: 10
                maxRetries: 3
                idleTimeout: 30s
                h2UpgradePolicy: DEFAULT
                useClientProtocol: true
                maxConcurrentStreams: 128
                http2KeepAlive: {interval: 10s, timeout: 2s}
            outlierDetection:
              splitExternalLocalOriginErrors: true
              consecutiveLocalOriginFailures: 4
              consecutiveGatewayErrors: 2
              consecutive5xxErrors: 5
              interval: 10s
              baseEjectionTime: 30s
              maxEjectionPercent: 50
              minHealthPercent: 25
              outlierDetectionHttpErrorCodes: [500, 503, 429]
            tls:
              mode: SIMPLE
              caCertificates: /etc/certs/ca.pem
              caCrl: /etc/certs/crl.pem
              subjectAltNames: [reviews.shop]
              sni: reviews.shop
              insecureSkipVerify: false
            portLevelSettings:
            - port: {number: 9080}
              loadBalancer: {simple: LEAST_CONN}
              connectionPool:
                tcp: {maxConnections: 10}
                http: {http2MaxRequests: 10, h2UpgradePolicy: DO_NOT_UPGRADE}
              outlierDetection: {consecutive5xxErrors: 3, outlierDetectionHttpErrorCodes: [502]}
              tls: {mode: MUTUAL, clientCertificate: /etc/certs/cert.pem, privateKey: /etc/certs/key.pem, caCertificates: /etc/certs/ca.pem}
            - port: {number: 9081}
              loadBalancer: {simple: RANDOM}
              tls: {mode: MUTUAL, credentialName: reviews-client-cert}
            - port: {number: 9082}
              loadBalancer: {simple: PASSTHROUGH}
              tls: {mode: DISABLE}
            - port: {number: 9083}
              loadBalancer: {simple: UNSPECIFIED}
              connectionPool: {http: {h2UpgradePolicy: UPGRADE}}
            - port: {number: 9084}
              loadBalancer: {simple: LEAST_REQUEST}
            tunnel: {protocol: CONNECT, targetHost: reviews.shop.svc.cluster.local, targetPort: 9080}
            retryBudget: {percent: 20.5, minRetryConcurrency: 3, budgetInterval: 5s}
          subsets:
          - name: v1
            labels: {version: v1}
            trafficPolicy:
              loadBalancer:
                consistentHash:
                  httpHeaderName: x-user
                  ringHash: {minimumRingSize: 1024}
                warmup: {duration: 30s, minimumPercent: 10, aggression: 1.5}
                zoneAwareLbSetting:
                  enabled: true
                  failover: [{from: us-east, to: us-west}]
                  failoverPriority: [topology.istio.io/network]
                  minClusterSize: 6
              tls: {mode: ISTIO_MUTUAL}
              proxyProtocol: {version: V2}
          - name: v2
            labels: {version: v2}
            trafficPolicy:
              loadBalancer:
                consistentHash:
                  httpCookie:
                    name: session
                    path: /
                    ttl: 0s
                    attributes: [{name: SameSite, value: Strict}, {name: Secure}]
                  maglev: {tableSize: 65537}
              proxyProtocol: {version: V1}
              portLevelSettings:
              - port: {number: 9085}
                loadBalancer:
                  backendUtilization:
                    weightUpdatePeriod: 1s
                    weightExpirationPeriod: 3m
                    weightStabilizationPeriod: 10s
                    errorUtilizationPenaltyPercent: 120
                    metricNamesForComputingUtilization: [named_metrics.cpu_utilization]
          - name: v3
            labels: {version: v3}
            trafficPolicy:
              loadBalancer:
                consistentHash: {useSourceIp: true, minimumRingSize: 2048}
                localityLbSetting:
                  failover: [{from: us-east, to: eu-west}]
                  failoverPriority: [topology.istio.io/network]
              outlierDetection: {consecutiveErrors: 7}
          - name: v4
            labels: {version: v4}
            trafficPolicy:
              loadBalancer:
                consistentHash: {httpQueryParameterName: user}
        """#

    /// One ServiceEntry per resolution (and location); the first sets every field but workloadSelector, the second that.
    static let everyServiceEntryField = #"""
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: {name: static-endpoints, namespace: shop}
        spec:
          hosts: [payments.internal]
          addresses: [240.0.0.10]
          ports:
          - {number: 443, protocol: HTTPS, name: https, targetPort: 8443}
          location: MESH_INTERNAL
          resolution: STATIC
          endpoints:
          - address: 10.0.0.12
            ports: {https: 9443}
            labels: {version: v1}
            network: net-1
            locality: us-west/zone1/subzone1
            weight: 3
            serviceAccount: payments
          exportTo: ["."]
          subjectAltNames: [spiffe://cluster.local/ns/shop/sa/payments]
        ---
        apiVersion: networking.istio.io/v1beta1
        kind: ServiceEntry
        metadata: {name: selected-workloads, namespace: shop}
        spec:
          hosts: [ledger.internal]
          ports: [{number: 8080, protocol: HTTP, name: http}]
          location: MESH_INTERNAL
          resolution: STATIC
          workloadSelector:
            labels: {app: ledger}
        ---
        apiVersion: networking.istio.io/v1alpha3
        kind: ServiceEntry
        metadata: {name: external-dns, namespace: shop}
        spec:
          hosts: [api.example.com]
          ports: [{number: 443, protocol: TLS, name: tls}]
          location: MESH_EXTERNAL
          resolution: DNS
        ---
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: {name: external-dns-round-robin, namespace: shop}
        spec:
          hosts: [cdn.example.com]
          ports: [{number: 80, protocol: HTTP, name: http}]
          resolution: DNS_ROUND_ROBIN
          endpoints: [{address: cdn-origin.example.com}]
        ---
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: {name: external-wildcard, namespace: shop}
        spec:
          hosts: ["*.wild.example.com"]
          ports: [{number: 443, protocol: TLS, name: tls}]
          resolution: DYNAMIC_DNS
        ---
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: {name: passthrough-range, namespace: shop}
        spec:
          hosts: [legacy.internal]
          addresses: [192.168.10.0/24]
          ports: [{number: 5432, protocol: TCP, name: tcp-postgres}]
          resolution: NONE
        """#

    /// A WorkloadEntry with every field.
    static let everyWorkloadEntryField = #"""
        apiVersion: networking.istio.io/v1
        kind: WorkloadEntry
        metadata: {name: vm-1, namespace: shop}
        spec:
          address: 10.0.3.7
          ports: {http: 8080, grpc: 9090}
          labels: {app: ledger, version: v1}
          network: vm-network
          locality: us-east/zone2/rack4
          weight: 5
          serviceAccount: ledger
        """#
}
