/// Istio's `service.PortNameAnalyzer`: a Service port whose protocol Istio cannot tell (from
/// `appProtocol`, or the name's `<protocol>[-<suffix>]` prefix) falls back to protocol sniffing.
struct PortNameAnalyzer: ResourceAnalyzer {
    let name = "service.PortNameAnalyzer"
    let description = "Checks the port names associated with each service"
    let reports: [AnalysisMessageType] = [.portNameIsNotUnderNamingConvention, .externalNameServiceTypeInvalidPortName]

    /// Values of `gateway.istio.io/managed` on Services Istio creates itself.
    private static let managedGatewayControllers: Set<String> = [
        "istio.io-gateway-controller", "istio.io-mesh-controller", "istio.io-eastwest-controller",
    ]

    func analyze(_ context: AnalysisContext) -> [AnalysisMessage] {
        var messages: [AnalysisMessage] = []
        for service in context.resources.services {
            let labels = service.labels
            // The control plane's own Services, and gateways Istio manages, are not the user's to name.
            if labels["istio"] != nil || labels["release"] == "istio" { continue }
            if let managed = labels["gateway.istio.io/managed"], Self.managedGatewayControllers.contains(managed) { continue }
            let isExternalName = service.spec.type == "ExternalName"
            for (i, port) in (service.spec.ports ?? []).enumerated() {
                let number = port.port ?? 0
                let known = IstioProtocol.isKnown(servicePort: number, name: port.name ?? "", protocol: port.protocol, appProtocol: port.appProtocol)
                guard !known || (port.name == "tcp" && isExternalName) else { continue }
                let field: FieldPath = ["ports", .index(i), "name"]
                if isExternalName {
                    messages.append(AnalysisMessage(.externalNameServiceTypeInvalidPortName, service, specField: field, IstioText.externalNameServiceTypeInvalidPortName))
                } else {
                    messages.append(AnalysisMessage(
                        .portNameIsNotUnderNamingConvention, service, specField: field,
                        IstioText.portNameNotUnderConvention(port.name ?? "", number, port.targetPort?.description ?? "0")))
                }
            }
        }
        return messages
    }
}

extension IstioProtocol {
    /// SMTP, DNS, MySQL and MongoDB ports are TCP without a name saying so.
    private static let wellKnownTCPPorts: Set<Int> = [25, 53, 3306, 27017]

    /// Istio's protocol selection for a Kubernetes Service port (`kube.ConvertProtocol`), reduced
    /// to the question the port-name analyzer asks: does Istio know the protocol, or must it sniff?
    static func isKnown(servicePort port: Int, name: String, protocol: String?, appProtocol: String?) -> Bool {
        if `protocol` == "UDP" { return true }
        var text = name
        if let appProtocol {
            if ["kubernetes.io/h2c", "kubernetes.io/ws", "kubernetes.io/wss"].contains(appProtocol) { return true }
            text = appProtocol
        }
        if text.lowercased().hasPrefix("grpc-web") { return true }
        let prefix = text.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? text
        return IstioProtocol(parsing: prefix) != nil || wellKnownTCPPorts.contains(port)
    }
}

/// Istio's `deployment.MultiServiceAnalyzer`: the pods of a meshed Deployment selected by several
/// Services must not see one port number with two protocols (IST0116), nor one target port
/// behind two different service ports (IST0137).
struct ServiceAssociationAnalyzer: ResourceAnalyzer {
    let name = "deployment.MultiServiceAnalyzer"
    let description = "Checks association between services and pods"
    let reports: [AnalysisMessageType] = [.deploymentAssociatedToMultipleServices, .deploymentConflictingPorts]

    func analyze(_ context: AnalysisContext) -> [AnalysisMessage] {
        var messages: [AnalysisMessage] = []
        for deployment in context.resources.deployments {
            // Waypoints are Istio's own.
            if deployment.labels["gateway.istio.io/managed"] == "istio.io-mesh-controller" { continue }
            guard InjectionAnalyzer.deploymentInMesh(deployment, context: context) else { continue }
            let podLabels = deployment.spec.podLabels
            let services = context.resources.services.filter { service in
                let selector = service.spec.selector ?? [:]
                return !selector.isEmpty && service.namespace == deployment.namespace
                    && selector.allSatisfy { podLabels[$0.key] == $0.value }
            }
            messages += protocolConflicts(deployment, services)
            messages += targetPortConflicts(deployment, services)
        }
        return messages
    }

    private func protocolConflicts(_ deployment: Deployment, _ services: [KubeService]) -> [AnalysisMessage] {
        // port → protocol → Services using it.
        var byPort: [Int: [String: [String]]] = [:]
        for service in services {
            for port in service.spec.ports ?? [] {
                let proto = (port.protocol ?? "").isEmpty ? "TCP" : port.protocol ?? "TCP"
                byPort[port.port ?? 0, default: [:]][proto, default: []].append(service.qualifiedName)
            }
        }
        return byPort.keys.sorted().compactMap { port in
            guard let protocols = byPort[port], protocols.count > 1 else { return nil }
            return AnalysisMessage(
                .deploymentAssociatedToMultipleServices, deployment, rootField: ["metadata", "name"],
                IstioText.deploymentAssociatedToMultipleServices(deployment.name, port, protocols.values.flatMap { $0 }.sorted()))
        }
    }

    private func targetPortConflicts(_ deployment: Deployment, _ services: [KubeService]) -> [AnalysisMessage] {
        // targetPort → service port → Service.
        var byTargetPort: [String: [Int: String]] = [:]
        for service in services {
            for port in service.spec.ports ?? [] {
                let number = port.port ?? 0
                var target = port.targetPort?.description ?? ""
                // Kubernetes defaults targetPort to port.
                if target.isEmpty || target == "0" { target = "\(number)" }
                byTargetPort[target, default: [:]][number] = service.qualifiedName
            }
        }
        return byTargetPort.keys.sorted().compactMap { target in
            guard let ports = byTargetPort[target], ports.count > 1 else { return nil }
            return AnalysisMessage(
                .deploymentConflictingPorts, deployment, rootField: ["metadata", "name"],
                IstioText.deploymentConflictingPorts(deployment.name, ports.values.sorted(), target, ports.keys.sorted()))
        }
    }
}
