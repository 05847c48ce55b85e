# Sourced by the scripts that build optimized binaries, so that each builds them the same way
# (SwiftPM rebuilds everything when the flags change between two builds of .build/release).
#
# -enforce-exclusivity=unchecked for every module, SwiftNIO's included: Package.swift can drop
# the dynamic exclusivity checks only for meshsim's own request-path modules, while NIO's pipeline
# made 67 `swift_beginAccess` calls per proxied HTTP/1.1 request (7 per HTTP/2 request), each a
# thread-local access-set insert, about 3 % of the proxy's CPU (docs/performance.md). Debug
# builds, and so the tests, keep the checks.
release_build_flags=(-c release -Xswiftc -enforce-exclusivity=unchecked)
