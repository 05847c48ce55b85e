import MeshLoad

extension Load {
    /// Fills each request class's expected shares from the configs (`-f`); written once routing lands.
    func expectationsFromConfigs(_ configuration: LoadConfiguration) throws -> LoadConfiguration {
        throw LoadInputError("-f is not available yet")
    }
}
