import MeshDemo
import Testing
