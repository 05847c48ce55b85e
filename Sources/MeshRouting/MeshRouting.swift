import MeshConfig
