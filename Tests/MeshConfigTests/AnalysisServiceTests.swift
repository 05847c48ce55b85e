import Testing

@testable import MeshConfig

/// IST0118 PortNameIsNotUnderNamingConvention, IST0150 ExternalNameServiceTypeInvalidPortName,
/// IST0116 DeploymentAssociatedToMultipleServices and IST0137 DeploymentConflictingPorts, ported
/// from Istio's `service-*port-name*.yaml` and `deployment-multi-service.yaml`.
@Suite struct AnalysisServiceTests {
    @Test func portNamesAsInIstio() {
        let yaml = """
            apiVersion: v1
            kind: Service
            metadata: {name: my-service1, namespace: my-namespace1}
            spec:
              selector: {app: my-service1}
              ports:
              - {protocol: TCP, port: 8080, targetPort: 8080}
              - {protocol: TCP, port: 8081, targetPort: 8081}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: my-service2, namespace: my-namespace2}
            spec:
              selector: {app: my-service2}
              ports:
              - {name: foo, protocol: TCP, port: 8080, targetPort: 8080}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: named, namespace: my-namespace}
            spec:
              selector: {app: named}
              ports:
              - {name: tcp-foo, port: 8080}
              - {name: http2-web, port: 8081}
              - {name: GRPC, port: 8082}
              - {name: anything, port: 8083, appProtocol: https}
              - {name: mysql-db-unnamed, port: 3306}
              - {port: 53, protocol: UDP}
              - {port: 27017}
            ---
            apiVersion: v1
            kind: Service
            metadata:
              name: istiod
              namespace: istio-system
              labels: {istio: pilot}
            spec:
              ports:
              - {port: 15012}
            """
        let all = analyze(yaml, file: "svc.yaml")
        #expect(findings(all, codes: ["IST0118"]) == [
            "IST0118 Service my-namespace1/my-service1",
            "IST0118 Service my-namespace1/my-service1",
            "IST0118 Service my-namespace2/my-service2",
        ])
        #expect(messages(all, code: "IST0118").map(\.description).contains(
            "Info [IST0118] (Service my-namespace2/my-service2 svc.yaml:16) Port name foo (port: 8080, targetPort: 8080) doesn't follow the naming convention of Istio port."))
        #expect(messages(all, code: "IST0118").map(\.message).contains(
            "Port name  (port: 8081, targetPort: 8081) doesn't follow the naming convention of Istio port."))
    }

    @Test func externalNameServicePortsAsInIstio() {
        let yaml = """
            apiVersion: v1
            kind: Service
            metadata: {name: nginx, namespace: nginx-ns}
            spec:
              type: ExternalName
              externalName: nginx.example.com
              ports:
              - {name: tcp, port: 443, protocol: TCP}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: nginx-svc2, namespace: nginx-ns2}
            spec:
              type: ExternalName
              externalName: nginx.example.com
              ports:
              - {name: tcp-foo, port: 443}
              - {name: unnamed-prefix, port: 444}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: nginx-ok, namespace: nginx-ns3}
            spec:
              type: ExternalName
              externalName: nginx.example.com
              ports:
              - {name: https, port: 443}
            """
        #expect(findings(analyze(yaml), codes: ["IST0118", "IST0150"]) == [
            "IST0150 Service nginx-ns/nginx",
            "IST0150 Service nginx-ns2/nginx-svc2",
        ])
    }

    static let multiService = """
        apiVersion: v1
        kind: Namespace
        metadata:
          name: bookinfo
          labels: {istio-injection: enabled}
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: multiple-svc-multiple-prot, namespace: bookinfo}
        spec:
          selector:
            matchLabels: {app: details, version: v1}
          template:
            metadata:
              labels: {app: details, version: v1}
            spec:
              containers:
              - {name: details, image: example/details}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: details-tcp-v1, namespace: bookinfo}
        spec:
          selector: {app: details}
          ports:
          - {port: 9080, name: tcp, protocol: TCP}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: details-http-v1, namespace: bookinfo}
        spec:
          selector: {app: details}
          ports:
          - {port: 9080, name: http, protocol: HTTP}
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: conflicting-ports, namespace: bookinfo}
        spec:
          selector:
            matchLabels: {app: conflicting-ports}
          template:
            metadata:
              labels: {app: conflicting-ports}
            spec:
              containers:
              - {name: details, image: example/details}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: conflicting-ports-1, namespace: bookinfo}
        spec:
          selector: {app: conflicting-ports}
          ports:
          - {port: 9080, name: tcp, targetPort: 9080, protocol: TCP}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: conflicting-ports-2, namespace: bookinfo}
        spec:
          selector: {app: conflicting-ports}
          ports:
          - {port: 9090, name: tcp-other, targetPort: 9080, protocol: TCP}
        ---
        # Two Services on two different ports of one Deployment: fine.
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: reviews-v2, namespace: bookinfo}
        spec:
          selector:
            matchLabels: {app: reviews}
          template:
            metadata:
              labels: {app: reviews}
            spec:
              containers:
              - {name: reviews, image: example/reviews}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: reviews-http, namespace: bookinfo}
        spec:
          selector: {app: reviews}
          ports:
          - {port: 9080, name: http}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: reviews-metrics, namespace: bookinfo}
        spec:
          selector: {app: reviews}
          ports:
          - {port: 9090, name: http-metrics}
        ---
        # Not in the mesh (no injection label on its namespace): not checked.
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: outside, namespace: plain}
        spec:
          selector:
            matchLabels: {app: outside}
          template:
            metadata:
              labels: {app: outside}
            spec:
              containers:
              - {name: outside, image: example/outside}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: outside-tcp, namespace: plain}
        spec:
          selector: {app: outside}
          ports:
          - {port: 9080, name: tcp, protocol: TCP}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: outside-udp, namespace: plain}
        spec:
          selector: {app: outside}
          ports:
          - {port: 9080, name: udp, protocol: UDP}
        """

    @Test func servicesSharingAPodAsInIstio() {
        let all = analyze(Self.multiService, file: "deploy.yaml")
        #expect(findings(all, codes: ["IST0116", "IST0137"]) == [
            "IST0116 Deployment bookinfo/multiple-svc-multiple-prot",
            "IST0137 Deployment bookinfo/conflicting-ports",
        ])
        #expect(messages(all, code: "IST0116").first?.description
            == "Warning [IST0116] (Deployment bookinfo/multiple-svc-multiple-prot deploy.yaml:9) This deployment multiple-svc-multiple-prot is associated with multiple services using port 9080 but different protocols: [bookinfo/details-http-v1 bookinfo/details-tcp-v1]")
        #expect(messages(all, code: "IST0137").first?.message
            == #"This deployment conflicting-ports is associated with multiple services [bookinfo/conflicting-ports-1 bookinfo/conflicting-ports-2] using targetPort "9080" but different ports: [9080 9090]."#)
    }
}
