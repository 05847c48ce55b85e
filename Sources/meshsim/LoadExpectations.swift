import MeshConfig
import MeshLoad
import MeshRouting

extension Load {
    /// Fills each request class's expected shares from the configs given with `-f`.
    func expectationsFromConfigs(_ configuration: LoadConfiguration) throws -> LoadConfiguration {
        let result = config.load(printNotes: false)
        if result.hasErrors { throw LoadInputError("-f: the configuration has errors (printed above)") }
        let snapshot: RoutingSnapshot
        do {
            snapshot = try RoutingSnapshot(resources: result.resources, options: RoutingOptions(clientNamespace: config.namespace))
        } catch let error as RoutingCompileError {
            for diagnostic in error.diagnostics { printError(diagnostic.description) }
            throw LoadInputError("-f: the configuration does not compile (errors printed above)")
        }
        return try configuration.withExpectations(from: snapshot)
    }
}
