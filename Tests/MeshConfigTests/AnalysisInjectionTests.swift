import Testing

@testable import MeshConfig

/// IST0102 NamespaceNotInjected and IST0123 NamespaceMultipleInjectionLabels, ported from the
/// Namespaces of Istio's `injection.yaml`.
@Suite struct AnalysisInjectionTests {
    static let namespaces = """
        apiVersion: v1
        kind: Namespace
        metadata:
          name: default
          labels: {istio-injection: enabled}
        ---
        apiVersion: v1
        kind: Namespace
        metadata:
          name: ambient
          labels: {istio.io/dataplane-mode: ambient}
        ---
        apiVersion: v1
        kind: Namespace
        metadata:
          name: foo
          labels: {istio-injection: disabled}
        ---
        apiVersion: v1
        kind: Namespace
        metadata:
          name: bar
        ---
        apiVersion: v1
        kind: Namespace
        metadata:
          name: canary-test
          labels: {istio.io/rev: canary}
        ---
        apiVersion: v1
        kind: Namespace
        metadata:
          name: busted
          labels: {istio-injection: enabled, istio.io/rev: canary}
        ---
        apiVersion: v1
        kind: Namespace
        metadata:
          name: multi-ns-1
          labels: {istio-injection: enabled, istio.io/rev: test}
        ---
        apiVersion: v1
        kind: Namespace
        metadata:
          name: multi-ns-2
          labels: {istio-injection: enabled, istio.io/dataplane-mode: ambient}
        ---
        apiVersion: v1
        kind: Namespace
        metadata:
          name: multi-ns-3
          labels: {istio.io/rev: test, istio.io/dataplane-mode: ambient}
        ---
        apiVersion: v1
        kind: Namespace
        metadata:
          name: not-conflict-ns-1
          labels: {istio-injection: disabled, istio.io/dataplane-mode: ambient}
        ---
        apiVersion: v1
        kind: Namespace
        metadata:
          name: not-conflict-ns-2
          labels: {istio-injection: disabled, istio.io/rev: test}
        ---
        apiVersion: v1
        kind: Namespace
        metadata:
          name: istio-system
        ---
        # Kubernetes' own namespaces are left out of analysis, as istioctl does.
        apiVersion: v1
        kind: Namespace
        metadata:
          name: kube-system
        """

    @Test func injectionLabelsAsInIstio() {
        let all = analyze(Self.namespaces, file: "ns.yaml")
        #expect(findings(all, codes: ["IST0102", "IST0123"]) == [
            "IST0102 Namespace bar",
            "IST0123 Namespace busted",
            "IST0123 Namespace multi-ns-1",
            "IST0123 Namespace multi-ns-2",
            "IST0123 Namespace multi-ns-3",
        ])
        #expect(messages(all, code: "IST0102").map(\.description) == [
            "Info [IST0102] (Namespace bar ns.yaml:22) The namespace is not enabled for Istio injection. Run 'kubectl label namespace bar istio-injection=enabled' to enable it, or 'kubectl label namespace bar istio-injection=disabled' to explicitly mark it as not needing injection.",
        ])
        #expect(messages(all, code: "IST0123").first { $0.resourceName == "busted" }?.message
            == "The namespace has more than one type of injection labels [istio-injection=enabled istio.io/rev=canary], which may lead to undefined behavior. Make sure only one injection label exists.")
    }

    @Test func namespaceMessagesHaveNoNamespaceInTheirOrigin() throws {
        let message = try #require(analyze("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n", file: "ns.yaml").first)
        #expect(message.resourceNamespace == nil)
        #expect(message.origin == "Namespace shop")
        #expect(message.field?.description == "metadata.name")
    }
}
