import Foundation
import MeshHTTP2
import MeshProxy
import MeshTestSupport
import NIOCore
import Testing

/// A pod that answers with a malformed HTTP/2 response head, as Envoy handles it: its codec
/// ends the pod's connection (GOAWAY PROTOCOL_ERROR; `stream_error_on_invalid_http_messaging`
/// is false), the codec client resets every stream on it with `ProtocolError`, and the router
/// answers each 502 with flag UPE (`Filter::onUpstreamReset`, `streamResetReasonToResponseFlag`).
/// A protocol-error reset is retried under `reset` (as any reset but an overflow), not under
/// Istio's default conditions.
@Suite struct HTTP2UpstreamProtocolErrorTests {
    static let body = "upstream connect error or disconnect/reset before headers. reset reason: protocol error"

    /// `bad.example` on the scripted pod's port (HTTP2), with `rule` (an `http` item) when given.
    static func yaml(podPort: Int, rule: String? = nil) -> String {
        let entry = FixtureYAML.serviceEntry("bad", host: "bad.example", port: podPort, portName: "http2", protocol: "HTTP2")
        guard let rule else { return entry }
        return FixtureYAML.documents(entry, FixtureYAML.virtualService("bad", hosts: ["bad.example"], http: rule))
    }

    static func cluster(_ pod: ScriptedH2Pod) -> String { "outbound|\(pod.port)||bad.example" }

    /// Runs `body` with a mesh in front of `pod`, the access log in a file (its lines returned),
    /// and stops both whatever happens.
    static func with(
        _ pod: ScriptedH2Pod, rule: String? = nil, _ body: (LocalMesh) async throws -> Void
    ) async throws -> [Substring] {
        let logPath = FileManager.default.temporaryDirectory.appendingPathComponent("meshsim-h2err-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: logPath) }
        do {
            try await TestMesh.with(
                yaml: yaml(podPort: pod.port, rule: rule), configuration: TestMesh.configuration(accessLog: .file(logPath))
            ) { mesh in
                try await body(mesh)
                let requests = await mesh.proxy.collectStats().totalRequests
                // The access log is written within ~100 ms of each request.
                _ = await TestMesh.waitUntil {
                    ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "").split(separator: "\n").count == Int(requests)
                }
            }
        } catch {
            await pod.stop()
            throw error
        }
        await pod.stop()
        return ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "").split(separator: "\n")
    }

    @Test(arguments: [
        ("connection-specific field", ScriptedH2Pod.status200 + ScriptedH2Pod.field("connection", "close")),
        ("upper-case field name", ScriptedH2Pod.status200 + ScriptedH2Pod.field("X-Upper", "1")),
        ("no :status", ScriptedH2Pod.field("content-type", "text/plain")),
        ("non-numeric :status", ScriptedH2Pod.status("2xx")),
    ])
    func aMalformedResponseHeadIs502UPE(_ name: String, block: [UInt8]) async throws {
        let pod = try await ScriptedH2Pod { _ in block }
        let log = try await Self.with(pod) { mesh in
            let client = try await H2TestClient.connect(port: mesh.port)
            do {
                let response = try await client.request(HTTP2RequestHead(method: "GET", authority: "bad.example:\(pod.port)", path: "/"))
                #expect(response.head.status == 502, "\(name)")
                #expect(String(buffer: response.body) == Self.body, "\(name)")
            } catch {
                await client.shutdown()
                throw error
            }
            await client.shutdown()
            let stats = await mesh.proxy.collectStats()
            #expect(stats.requestCount(cluster: Self.cluster(pod), responseCode: 502, flags: .upstreamProtocolError) == 1, "\(name)")
            #expect(stats.totalRequests == 1, "\(name)")
            // The pod's connection ended with GOAWAY(PROTOCOL_ERROR); Istio's default retry
            // conditions do not cover a protocol error: one request reached the pod.
            #expect(await TestMesh.waitUntil { pod.observations.goAwayCodes == [HTTP2ErrorCode.protocolError.rawValue] }, "\(name)")
            #expect(pod.observations.requestStreams.count == 1, "\(name)")
        }
        #expect(log.count == 1 && log.first?.contains("\" 502 UPE ") == true, "\(name): \(log)")
    }

    @Test func anHTTP1ClientGetsTheSame502() async throws {
        let pod = try await ScriptedH2Pod { _ in ScriptedH2Pod.status200 + ScriptedH2Pod.field("connection", "close") }
        let log = try await Self.with(pod) { mesh in
            let output = try await HTTP2UpstreamTests.curl([
                "-H", "Host: bad.example:\(pod.port)", "-w", " %{http_code}", "http://127.0.0.1:\(mesh.port)/",
            ])
            #expect(output == Self.body + " 502", "\(output)")
        }
        #expect(log.first?.contains("\" 502 UPE ") == true, "\(log)")
    }

    /// The other streams on the pod's connection end with it, each 502 UPE: Envoy's codec client
    /// resets every active request with `ProtocolError` when its connection closes on one.
    @Test func otherStreamsOnThatConnectionAre502UPETooAndTheNextRequestGetsANewConnection() async throws {
        // Request 0 is held; request 1 gets the malformed head; request 2 a good one.
        let pod = try await ScriptedH2Pod { index in
            switch index {
            case 0: return nil
            case 1: return ScriptedH2Pod.status200 + ScriptedH2Pod.field("connection", "close")
            default: return ScriptedH2Pod.status200
            }
        }
        _ = try await Self.with(pod) { mesh in
            let client = try await H2TestClient.connect(port: mesh.port)
            do {
                let head = HTTP2RequestHead(method: "GET", authority: "bad.example:\(pod.port)", path: "/")
                async let held = client.request(head)
                #expect(await TestMesh.waitUntil { pod.observations.requestStreams.count == 1 })
                let malformed = try await client.request(head)
                #expect(malformed.head.status == 502)
                let heldResponse = try await held
                #expect(heldResponse.head.status == 502)
                #expect(String(buffer: heldResponse.body) == Self.body)
                let next = try await client.request(head)
                #expect(next.head.status == 200)
            } catch {
                await client.shutdown()
                throw error
            }
            await client.shutdown()
            let stats = await mesh.proxy.collectStats()
            #expect(stats.requestCount(cluster: Self.cluster(pod), responseCode: 502, flags: .upstreamProtocolError) == 2)
            #expect(stats.requestCount(cluster: Self.cluster(pod), responseCode: 200, flags: []) == 1)
            let observed = pod.observations
            // Both bad requests shared the first connection; the good one needed another.
            #expect(observed.requestStreams == [1, 3, 1])
            #expect(observed.connections == 2)
        }
    }

    /// `retryOn: reset` retries a protocol-error reset (Envoy's `wouldRetryFromReset` retries
    /// every reset but an overflow under `reset`, `5xx` and `gateway-error`).
    @Test func retryOnResetRetriesAProtocolError() async throws {
        let pod = try await ScriptedH2Pod { _ in ScriptedH2Pod.status200 + ScriptedH2Pod.field("connection", "close") }
        let rule = """
            - route: [{destination: {host: bad.example}}]
              retries: {attempts: 2, retryOn: reset}
            """
        let log = try await Self.with(pod, rule: rule) { mesh in
            let client = try await H2TestClient.connect(port: mesh.port)
            do {
                let response = try await client.request(HTTP2RequestHead(method: "GET", authority: "bad.example", path: "/"))
                #expect(response.head.status == 502)
                #expect(
                    String(buffer: response.body)
                        == "upstream connect error or disconnect/reset before headers. retried and the latest reset reason: protocol error")
            } catch {
                await client.shutdown()
                throw error
            }
            await client.shutdown()
            let stats = await mesh.proxy.collectStats()
            #expect(
                stats.requestCount(
                    cluster: Self.cluster(pod), responseCode: 502, flags: [.upstreamProtocolError, .upstreamRetryLimitExceeded]) == 1)
            // The first try and two retries, each on a new connection (each ended by its GOAWAY).
            #expect(pod.observations.requestStreams.count == 3)
            #expect(pod.observations.connections == 3)
        }
        // Envoy prints flags in its own order (URX before UPE), as meshsim does.
        #expect(log.first?.contains("\" 502 URX,UPE ") == true, "\(log)")
    }
}
