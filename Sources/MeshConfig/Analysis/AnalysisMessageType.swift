/// An Istio analysis message type: code, name and level, as listed in Istio's
/// `pkg/config/analysis/msg/messages.yaml`. Only the types meshsim reports are here.
public struct AnalysisMessageType: Sendable, Hashable, CustomStringConvertible {
    public let code: String
    public let name: String
    public let level: AnalysisMessage.Level

    public init(code: String, name: String, level: AnalysisMessage.Level) {
        self.code = code
        self.name = name
        self.level = level
    }

    public var description: String { "\(code) \(name)" }

    /// istio.io's page for the code (istioctl links `…/config/analysis/ist0101/`).
    public var documentationURL: String {
        "https://istio.io/latest/docs/reference/config/analysis/\(code.lowercased())/"
    }

    public static let deprecated = Self(code: "IST0002", name: "Deprecated", level: .warning)
    public static let referencedResourceNotFound = Self(code: "IST0101", name: "ReferencedResourceNotFound", level: .error)
    public static let namespaceNotInjected = Self(code: "IST0102", name: "NamespaceNotInjected", level: .info)
    public static let schemaValidationError = Self(code: "IST0106", name: "SchemaValidationError", level: .error)
    public static let conflictingMeshGatewayVirtualServiceHosts = Self(code: "IST0109", name: "ConflictingMeshGatewayVirtualServiceHosts", level: .error)
    public static let virtualServiceDestinationPortSelectorRequired = Self(code: "IST0112", name: "VirtualServiceDestinationPortSelectorRequired", level: .error)
    public static let deploymentAssociatedToMultipleServices = Self(code: "IST0116", name: "DeploymentAssociatedToMultipleServices", level: .warning)
    public static let portNameIsNotUnderNamingConvention = Self(code: "IST0118", name: "PortNameIsNotUnderNamingConvention", level: .info)
    public static let namespaceMultipleInjectionLabels = Self(code: "IST0123", name: "NamespaceMultipleInjectionLabels", level: .warning)
    public static let noServerCertificateVerificationDestinationLevel = Self(code: "IST0128", name: "NoServerCertificateVerificationDestinationLevel", level: .warning)
    public static let noServerCertificateVerificationPortLevel = Self(code: "IST0129", name: "NoServerCertificateVerificationPortLevel", level: .warning)
    public static let virtualServiceUnreachableRule = Self(code: "IST0130", name: "VirtualServiceUnreachableRule", level: .warning)
    public static let virtualServiceIneffectiveMatch = Self(code: "IST0131", name: "VirtualServiceIneffectiveMatch", level: .info)
    public static let schemaWarning = Self(code: "IST0133", name: "SchemaWarning", level: .warning)
    public static let serviceEntryAddressesRequired = Self(code: "IST0134", name: "ServiceEntryAddressesRequired", level: .warning)
    public static let deploymentConflictingPorts = Self(code: "IST0137", name: "DeploymentConflictingPorts", level: .warning)
    public static let externalNameServiceTypeInvalidPortName = Self(code: "IST0150", name: "ExternalNameServiceTypeInvalidPortName", level: .warning)
    public static let destinationRuleSubsetNotSelectPods = Self(code: "IST0173", name: "DestinationRuleSubsetNotSelectPods", level: .error)
    public static let unknownDestinationRuleHost = Self(code: "IST0174", name: "UnknownDestinationRuleHost", level: .warning)
    public static let conflictingServiceEntryProtocol = Self(code: "IST0177", name: "ConflictingServiceEntryProtocol", level: .warning)

    /// Every type meshsim can report, by code.
    public static let all: [AnalysisMessageType] = [
        .deprecated, .referencedResourceNotFound, .namespaceNotInjected, .schemaValidationError,
        .conflictingMeshGatewayVirtualServiceHosts, .virtualServiceDestinationPortSelectorRequired,
        .deploymentAssociatedToMultipleServices, .portNameIsNotUnderNamingConvention, .namespaceMultipleInjectionLabels,
        .noServerCertificateVerificationDestinationLevel, .noServerCertificateVerificationPortLevel,
        .virtualServiceUnreachableRule, .virtualServiceIneffectiveMatch, .schemaWarning, .serviceEntryAddressesRequired,
        .deploymentConflictingPorts, .externalNameServiceTypeInvalidPortName, .destinationRuleSubsetNotSelectPods,
        .unknownDestinationRuleHost, .conflictingServiceEntryProtocol,
    ]
}

/// Istio's message templates (messages.yaml), filled in. Arguments are formatted the way Go's
/// `%q` (quoted) and `%v` (slices as `[a b]`) would.
enum IstioText {
    static func deprecated(_ detail: String) -> String { "Deprecated: \(detail)" }

    static func referencedResourceNotFound(_ referenceType: String, _ value: String) -> String {
        "Referenced \(referenceType) not found: \(goQuoted(value))"
    }

    static func namespaceNotInjected(_ namespace: String) -> String {
        "The namespace is not enabled for Istio injection. Run 'kubectl label namespace \(namespace) istio-injection=enabled' to enable it, or 'kubectl label namespace \(namespace) istio-injection=disabled' to explicitly mark it as not needing injection."
    }

    static func schemaValidationError(_ error: String) -> String { "Schema validation error: \(error)" }
    static func schemaWarning(_ warning: String) -> String { "Schema validation warning: \(warning)" }

    static func conflictingMeshGatewayHosts(_ virtualServices: String, _ host: String) -> String {
        "The VirtualServices \(virtualServices) associated with mesh gateway define the same host \(host) which can lead to undefined behavior. This can be fixed by merging the conflicting VirtualServices into a single resource."
    }

    static func destinationPortSelectorRequired(_ host: String, _ ports: [Int]) -> String {
        "This VirtualService routes to a service \(goQuoted(host)) that exposes multiple ports \(goList(ports)). Specifying a port in the destination is required to disambiguate."
    }

    static func deploymentAssociatedToMultipleServices(_ deployment: String, _ port: Int, _ services: [String]) -> String {
        "This deployment \(deployment) is associated with multiple services using port \(port) but different protocols: \(goList(services))"
    }

    static func portNameNotUnderConvention(_ name: String, _ port: Int, _ targetPort: String) -> String {
        "Port name \(name) (port: \(port), targetPort: \(targetPort)) doesn't follow the naming convention of Istio port."
    }

    static func namespaceMultipleInjectionLabels(_ labels: [String]) -> String {
        "The namespace has more than one type of injection labels \(goList(labels)), which may lead to undefined behavior. Make sure only one injection label exists."
    }

    static func noServerCertificateVerificationDestinationLevel(_ rule: String, _ namespace: String, _ mode: String, _ host: String) -> String {
        "DestinationRule \(rule) in namespace \(namespace) has TLS mode set to \(mode) but no caCertificates are set to validate server identity for host: \(host)"
    }

    static func noServerCertificateVerificationPortLevel(_ rule: String, _ namespace: String, _ mode: String, _ host: String, _ port: String) -> String {
        "DestinationRule \(rule) in namespace \(namespace) has TLS mode set to \(mode) but no caCertificates are set to validate server identity for host: \(host) at port \(port)"
    }

    static let serviceEntryAddressesRequired = "ServiceEntry addresses are required for this protocol."

    static func deploymentConflictingPorts(_ deployment: String, _ services: [String], _ targetPort: String, _ ports: [Int]) -> String {
        "This deployment \(deployment) is associated with multiple services \(goList(services)) using targetPort \(goQuoted(targetPort)) but different ports: \(goList(ports))."
    }

    static let externalNameServiceTypeInvalidPortName =
        "Port name for ExternalName service is invalid. Proxy may prevent tcp named ports and unmatched traffic for ports serving TCP protocol from being forwarded correctly"

    static func subsetNotSelectPods(_ subset: String) -> String {
        "The Subset \(subset) defined in the DestinationRule does not select any pods. Which may lead to 503 UH (NoHealthyUpstream)."
    }

    static func unknownDestinationRuleHost(_ host: String) -> String {
        "The host \(host) defined in the DestinationRule does not match any services in the mesh."
    }

    static func conflictingServiceEntryProtocol(_ names: String, _ host: String, _ port: Int, _ protocols: String) -> String {
        "Multiple ServiceEntries (\(names)) define the same host \(goQuoted(host)) and port \(port) with conflicting protocols (\(protocols))."
    }

    /// Go's `%q` of a string: double quotes, with `"`, `\` and control characters escaped.
    static func goQuoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\x" + (hex.count < 2 ? "0" + hex : hex)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// Go's `%v` of a slice: `[a b c]`.
    static func goList<T>(_ items: [T]) -> String {
        "[" + items.map { "\($0)" }.joined(separator: " ") + "]"
    }
}
