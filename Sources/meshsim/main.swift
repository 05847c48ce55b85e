import MeshConfig
print(ConfigLoader().load(paths: CommandLine.arguments.dropFirst().map { $0 }).diagnostics)
