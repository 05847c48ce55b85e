import MeshProxy
import MeshTestSupport
import Testing

/// A VirtualService's `corsPolicy`, as Envoy's CORS filter applies the route policy Istio writes:
/// preflights answered by the proxy, allowed origins echoed on every answer, others untouched.
@Suite struct CORSTests {
    static func mesh(cors: String) -> String {
        TestMesh.service("web", versions: ["v1": [:]]) + "---\n"
            + FixtureYAML.virtualService("web", http: """
                - name: api
                  corsPolicy:
                \(cors.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
                  route: [{destination: {host: web}}]
                """)
    }

    static let policy = """
        allowOrigins: [{exact: "https://shop.example"}, {regex: "https://.*\\\\.partner\\\\.example"}]
        allowMethods: [GET, POST]
        allowHeaders: [x-custom, content-type]
        exposeHeaders: [x-meshsim-version]
        maxAge: 1h
        allowCredentials: true
        """

    static func served(_ mesh: LocalMesh) -> Int {
        mesh.fleet.stats.values.reduce(0) { $0 + $1.requestsServed }
    }

    static func preflight(origin: String, extra: String = "") -> String {
        "OPTIONS /cart HTTP/1.1\r\nHost: web\r\nOrigin: \(origin)\r\nAccess-Control-Request-Method: POST\r\n\(extra)\r\n"
    }

    @Test(arguments: ["https://shop.example", "https://api.partner.example"])
    func aPreflightFromAnAllowedOriginIsAnsweredByTheProxy(origin: String) async throws {
        try await TestMesh.with(yaml: Self.mesh(cors: Self.policy)) { mesh in
            let connection = try RawConnection(port: mesh.port)
            try await connection.send(Self.preflight(origin: origin))
            let response = try await connection.readResponse()
            #expect(response.status == 200)
            #expect(response.body.isEmpty)
            #expect(response.header("access-control-allow-origin") == origin)
            #expect(response.header("access-control-allow-methods") == "GET,POST")
            #expect(response.header("access-control-allow-headers") == "x-custom,content-type")
            #expect(response.header("access-control-max-age") == "3600")
            #expect(response.header("access-control-allow-credentials") == "true")
            #expect(response.header("access-control-expose-headers") == "x-meshsim-version")
            #expect(response.header("x-meshsim-route") == "default/web/api")
            #expect(Self.served(mesh) == 0)
        }
    }

    @Test func anAllowedOriginIsEchoedOnTheAnswerAndOthersAreLeftAlone() async throws {
        try await TestMesh.with(yaml: Self.mesh(cors: Self.policy)) { mesh in
            let connection = try RawConnection(port: mesh.port)
            try await connection.send("GET /cart HTTP/1.1\r\nHost: web\r\nOrigin: https://shop.example\r\n\r\n")
            let allowed = try await connection.readResponse()
            #expect(allowed.status == 200)
            #expect(allowed.header("access-control-allow-origin") == "https://shop.example")
            #expect(allowed.header("access-control-allow-credentials") == "true")
            #expect(allowed.header("access-control-expose-headers") == "x-meshsim-version")
            #expect(allowed.header("access-control-allow-methods") == nil)

            try await connection.send("GET /cart HTTP/1.1\r\nHost: web\r\nOrigin: https://evil.example\r\n\r\n")
            let other = try await connection.readResponse()
            #expect(other.status == 200)
            #expect(other.headers.allSatisfy { !$0.0.lowercased().hasPrefix("access-control-") })
            #expect(Self.served(mesh) == 2)
        }
    }

    /// Istio's default (`unmatchedPreflights: FORWARD`): a preflight from an origin the policy
    /// does not allow goes to the pod; with `IGNORE` the proxy answers it 200 without the origin.
    @Test(arguments: [false, true])
    func aPreflightFromAnotherOrigin(ignored: Bool) async throws {
        let cors = Self.policy + (ignored ? "\nunmatchedPreflights: IGNORE" : "")
        try await TestMesh.with(yaml: Self.mesh(cors: cors)) { mesh in
            let connection = try RawConnection(port: mesh.port)
            try await connection.send(Self.preflight(origin: "https://evil.example"))
            let response = try await connection.readResponse()
            #expect(response.status == 200)
            #expect(response.header("access-control-allow-origin") == nil)
            #expect(Self.served(mesh) == (ignored ? 0 : 1))
            if ignored { #expect(response.header("access-control-allow-methods") == "GET,POST") }
        }
    }

    /// `*` among the allowed origins admits every origin (Envoy tries each matcher on `*` too);
    /// `*` as the methods or headers echoes what the preflight asks for.
    @Test func wildcards() async throws {
        let cors = """
            allowOrigins: [{exact: "*"}]
            allowMethods: ["*"]
            allowHeaders: ["*"]
            """
        try await TestMesh.with(yaml: Self.mesh(cors: cors)) { mesh in
            let connection = try RawConnection(port: mesh.port)
            try await connection.send(Self.preflight(origin: "https://anyone.example", extra: "Access-Control-Request-Headers: x-a, x-b\r\n"))
            let response = try await connection.readResponse()
            #expect(response.header("access-control-allow-origin") == "https://anyone.example")
            #expect(response.header("access-control-allow-methods") == "POST")
            #expect(response.header("access-control-allow-headers") == "x-a, x-b")
            #expect(response.header("access-control-allow-credentials") == nil)
            #expect(response.header("access-control-max-age") == nil)
        }
    }

    /// A request without Origin, or a route without corsPolicy, is not a CORS request.
    @Test func noOriginOrNoPolicyIsPlainTraffic() async throws {
        let yaml = TestMesh.service("web", versions: ["v1": [:]])
        try await TestMesh.with(yaml: yaml) { mesh in
            let connection = try RawConnection(port: mesh.port)
            try await connection.send(Self.preflight(origin: "https://shop.example"))
            let response = try await connection.readResponse()
            #expect(response.header("access-control-allow-origin") == nil)
            #expect(Self.served(mesh) == 1)
        }
        try await TestMesh.with(yaml: Self.mesh(cors: Self.policy)) { mesh in
            let connection = try RawConnection(port: mesh.port)
            try await connection.send("OPTIONS /cart HTTP/1.1\r\nHost: web\r\nAccess-Control-Request-Method: POST\r\n\r\n")
            let response = try await connection.readResponse()
            #expect(response.header("access-control-allow-origin") == nil)
            #expect(Self.served(mesh) == 1)
        }
    }
}
