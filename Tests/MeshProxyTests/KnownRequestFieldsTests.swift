import MeshHTTP2
import Testing

@testable import MeshProxy

/// The one-pass index of the fields the proxy reads must find exactly what a scan by name finds.
@Suite struct KnownRequestFieldsTests {
    static let names: [(KnownRequestFields.Name, String)] = [
        (.contentLength, "content-length"), (.transferEncoding, "transfer-encoding"), (.expect, "expect"),
        (.upgrade, "upgrade"), (.contentType, "content-type"), (.userAgent, "user-agent"),
        (.requestID, "x-request-id"), (.forwardedFor, "x-forwarded-for"), (.originalPath, "x-envoy-original-path"),
        (.upstreamTimeout, "x-envoy-upstream-rq-timeout-ms"), (.maxRetries, "x-envoy-max-retries"), (.retryOn, "x-envoy-retry-on"),
        (.origin, "origin"),
        (.connection, "connection"),
        (.host, "host"),
    ]

    @Test func everyNameIsFoundAtItsFirstIndexInAnyCase() {
        var fields = HeaderFields()
        for (offset, (_, name)) in Self.names.enumerated() {
            // Alternate spellings: as registered, upper case.
            fields.append(name: offset % 2 == 0 ? name : name.uppercased(), value: "first-\(offset)")
        }
        for (offset, (_, name)) in Self.names.enumerated() { fields.append(name: name, value: "second-\(offset)") }
        let known = KnownRequestFields(fields)
        for (offset, (key, name)) in Self.names.enumerated() {
            #expect(known[key] == fields.firstIndex(name: name), "\(name)")
            #expect(known[key] == offset, "\(name)")
        }
        // Every name but `secondHost` (its own test below) is covered.
        #expect(Set(Self.names.map { "\($0.0)" }).count == KnownRequestFields.Name.allCases.count - 1)
        #expect(known[.secondHost] == Self.names.count + Self.names.count - 1)
    }

    @Test func aSecondHostLineIsNoted() {
        var fields = HeaderFields()
        fields.append(name: "Host", value: "reviews")
        #expect(KnownRequestFields(fields)[.host] == 0 && KnownRequestFields(fields)[.secondHost] == nil)
        fields.append(name: "x", value: "y")
        fields.append(name: "HOST", value: "reviews")
        fields.append(name: "host", value: "other")
        #expect(KnownRequestFields(fields)[.host] == 0 && KnownRequestFields(fields)[.secondHost] == 2)
    }

    @Test func absentNamesAndLookAlikesAreNotFound() {
        // Same lengths as known names, other letters.
        var fields = HeaderFields()
        for name in [
            "hosT-", "hust", "expecT-", "x-request-ie", "content-typo", "content-lengtx", "x-forwarded-fox", "user-agenx", "upgradx",
            "connectiom",
        ] {
            fields.append(name: name, value: "v")
        }
        let known = KnownRequestFields(fields)
        for key in KnownRequestFields.Name.allCases { #expect(known[key] == nil, "\(key)") }
    }

    @Test func theHeadReadsValuesThroughTheIndex() {
        var fields = HeaderFields()
        fields.append(name: "X-Request-Id", value: "abc")
        fields.append(name: "Content-Type", value: "application/grpc")
        let head = DownstreamRequestHead(method: .POST, uri: "/", version: .http1_1, fields: fields, host: nil)
        #expect(head.first(.requestID) == "abc")
        #expect(head.first(.contentType) == "application/grpc")
        #expect(head.first(.userAgent) == nil)
        #expect(head.contains(.contentType) && !head.contains(.transferEncoding))
    }

    /// Every name the forwarded head or an HTTP/2 block treats itself, in assorted cases.
    static let judgedNames = [
        "te", "TE", "host", "Host", "expect", "upgrade", "Trailer", "connection", "KEEP-ALIVE", "x-request-id", "http2-settings",
        "x-forwarded-for", "proxy-connection", "Transfer-Encoding", "x-forwarded-proto", "proxy-authenticate", "proxy-authorization",
        "x-envoy-internal", "X-Envoy-Original-Path", "x-envoy-attempt-count", "x-envoy-expected-rq-timeout-ms", "x-envoy-retry-on",
        "x-envoy-max-retries", "x-envoy-upstream-rq-timeout-ms", "x-envoy-upstream-rq-per-try-timeout-ms", "x-envoy-retry-grpc-on",
        "x-envoy-hedge-on-per-try-timeout", "x-envoy-upstream-rq-timeout-alt-response", "x-envoy-anything", ":path", "",
    ]

    @Test func fieldsTheForwardedHeadJudgesAreNotOrdinaryAndOthersAre() {
        var fields = HeaderFields()
        let ordinary = ["user-agent", "accept", "content-length", "content-type", "origin", "x-b3-traceid", "te2", "hosts", "x-envoyish"]
        for name in Self.judgedNames + ordinary { fields.append(name: name, value: "v") }
        let known = KnownRequestFields(fields)
        for (index, name) in (Self.judgedNames + ordinary).enumerated() {
            #expect(known.isOrdinary(at: index) == ordinary.contains(name), "\(name)")
        }
        // Past the 64th, every field is judged.
        for _ in 0..<70 { fields.append(name: "accept", value: "*/*") }
        #expect(!KnownRequestFields(fields).isOrdinary(at: 64) && KnownRequestFields(fields).isOrdinary(at: 63))
    }

    @Test func aFieldNotedAfterTheScanIsJudged() {
        var fields = HeaderFields()
        fields.append(name: "user-agent", value: "h2load")
        var known = KnownRequestFields(fields)
        known.noteAppended(.host, at: 1)
        #expect(known.isOrdinary(at: 0) && !known.isOrdinary(at: 1) && known[.host] == 1)
    }

    @Test func theHeaderListSizeIsCountedInThePass() {
        var fields = HeaderFields()
        #expect(KnownRequestFields(fields).headerListSize == 0)
        for (name, value) in [("user-agent", "h2load nghttp2/1.52.0"), ("accept", ""), ("x-request-id", "Zoë ✓")] {
            fields.append(name: name, value: value)
        }
        #expect(KnownRequestFields(fields).headerListSize == fields.headerListSize)
    }
}
