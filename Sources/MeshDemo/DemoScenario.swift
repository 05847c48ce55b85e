import Foundation

/// The demo's bundled scenario, embedded so that `meshsim demo` runs from any directory with no
/// files. The same text is in the repository's `configs/demo/` (a test keeps them equal):
///
/// ```
/// configs/demo/workloads/reviews.yaml   Namespace, Service, Deployments v1 and v2, DestinationRule
/// configs/demo/rollout/v2-<W>.yaml      the VirtualService of the step giving v2 W% (beta → v2 always)
/// scenarios/demo-load-mix.yaml          the request mix: 10% beta users, 90% regular
/// ```
///
/// (The mix is not an Istio resource, so it lives in scenarios/, apart from configs/. In the
/// directory the demo writes, it is `load-mix.yaml` beside `workloads/` and `rollout/`.)
public enum DemoScenario {
    /// Directory names inside a scenario directory (the repository's `configs/demo/`, or the copy
    /// the demo writes for the reproduction commands).
    public static let workloadsDirectory = "workloads"
    public static let workloadsFile = "workloads/reviews.yaml"
    public static let rolloutDirectory = "rollout"
    public static let loadMixFile = "load-mix.yaml"
    /// The mix's copy in the repository.
    public static let repositoryLoadMixFile = "scenarios/demo-load-mix.yaml"

    /// The weights of v2 the default rollout walks through.
    public static let defaultSteps = [0, 5, 25, 50, 100]

    /// The VirtualService file of the step giving the canary `canaryWeight` percent.
    public static func rolloutFile(canaryWeight: Int) -> String {
        "\(rolloutDirectory)/v2-\(canaryWeight).yaml"
    }

    /// The routes of one rollout step: the beta users' rule first (they always reach the canary),
    /// then the weighted split. With the default names this is the text of
    /// `configs/demo/rollout/v2-<canaryWeight>.yaml`.
    public static func virtualService(
        canaryWeight: Int, host: String = "reviews", namespace: String = "default", stable: String = "v1",
        canary: String = "v2", betaHeader: String = "x-user-group", betaValue: String = "beta"
    ) -> String {
        let stableWeight = 100 - canaryWeight
        return """
            # meshsim demo: the routes of the rollout step that gives \(canary) \(canaryWeight)% of regular traffic.
            # Beta users (\(betaHeader): \(betaValue)) always reach \(canary). Serve with the workloads:
            #   meshsim serve -f workloads -f rollout/v2-\(canaryWeight).yaml
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata:
              name: \(host)
              namespace: \(namespace)
            spec:
              hosts:
              - \(host)
              http:
              - name: beta-users
                match:
                - headers:
                    \(betaHeader):
                      exact: \(betaValue)
                route:
                - destination:
                    host: \(host)
                    subset: \(canary)
              - name: canary
                route:
                - destination:
                    host: \(host)
                    subset: \(stable)
                  weight: \(stableWeight)
                - destination:
                    host: \(host)
                    subset: \(canary)
                  weight: \(canaryWeight)

            """
    }

    /// `configs/demo/workloads/reviews.yaml`.
    public static let workloads = """
        # `meshsim demo`'s workloads: reviews v1 and a v2 canary that is fine at low load and answers
        # 503 at peak (the canary that passed at 5% and fell over at 50%).
        #
        # Why the default demo (200 requests/s, 10% of them beta users who always reach v2) rolls back
        # at the 50/50 step: by Little's law a subset holds rate x share x mean latency requests at
        # once. v2's mean latency is about 175ms (log-normal, p50 170ms, p99 300ms) and its one pod
        # accepts 18 requests at once. v2's share of the traffic is 10% + 90% x its weight:
        #   steps 0, 5, 25:  10%, 14.5%, 32.5%  ->  3.5, 5, 11 requests in flight: well below 18
        #   step 50:         55%                ->  19 in flight on average: past the limit, so the
        #                                           pod refuses a third or more of the attempts with 503
        # Istio's default retries leave a 503 alone (since 1.24 they cover connection failures and
        # resets only), so those refusals reach the clients: v2's error rate at 50/50 is far above
        # the demo's 1% threshold, where at 25% almost no request is refused.
        apiVersion: v1
        kind: Namespace
        metadata:
          name: default
          labels:
            istio-injection: enabled
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: reviews
          namespace: default
          labels:
            app: reviews
        spec:
          selector:
            app: reviews
          ports:
          - name: http
            port: 9080
            targetPort: 9080
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: reviews-v1
          namespace: default
          labels:
            app: reviews
            version: v1
        spec:
          replicas: 2
          selector:
            matchLabels:
              app: reviews
              version: v1
          template:
            metadata:
              labels:
                app: reviews
                version: v1
              annotations:
                # How meshsim's simulated pods behave; a real cluster ignores these.
                meshsim.dev/latency: "p50=130ms,p99=250ms"
            spec:
              containers:
              - name: reviews
                image: docker.io/istio/examples-bookinfo-reviews-v1:1.20.1
                ports:
                - containerPort: 9080
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: reviews-v2
          namespace: default
          labels:
            app: reviews
            version: v2
        spec:
          replicas: 1
          selector:
            matchLabels:
              app: reviews
              version: v2
          template:
            metadata:
              labels:
                app: reviews
                version: v2
              annotations:
                # Slightly slower than v1, and the pod answers 503 at once beyond 18 requests in flight.
                meshsim.dev/latency: "p50=170ms,p99=300ms"
                meshsim.dev/max-concurrency: "18"
            spec:
              containers:
              - name: reviews
                image: docker.io/istio/examples-bookinfo-reviews-v2:1.20.1
                ports:
                - containerPort: 9080
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata:
          name: reviews
          namespace: default
        spec:
          host: reviews
          trafficPolicy:
            loadBalancer:
              simple: LEAST_REQUEST
          subsets:
          - name: v1
            labels:
              version: v1
          - name: v2
            labels:
              version: v2

        """

    /// `scenarios/demo-load-mix.yaml`: a `meshsim load --mix` file. The class without `expect`
    /// (regular) takes the step's weights.
    public static let loadMix = """
        # The traffic of `meshsim demo`: 10% beta users (x-user-group: beta), who always reach v2,
        # and everyone else, who see the step's canary weights (give them with --expect):
        #
        #   meshsim load http://127.0.0.1:15001/ -H 'Host: reviews' --rps 200 --connections 200 \\
        #     --duration 4s --mix scenarios/demo-load-mix.yaml --expect v1=75,v2=25
        classes:
        - name: beta
          weight: 10
          headers:
            x-user-group: beta
          expect:
            v2: 100
        - name: regular
          weight: 90

        """

    /// Writes the workloads (unless `includeWorkloads` is false), the mix and one VirtualService per
    /// step into `directory` (created if needed); returns the VirtualService paths by canary weight.
    @discardableResult
    public static func write(
        to directory: String, steps: [Int], routes: (Int) -> String = { virtualService(canaryWeight: $0) },
        includeWorkloads: Bool = true
    ) throws -> [Int: String] {
        let manager = FileManager.default
        let base = URL(fileURLWithPath: directory)
        try manager.createDirectory(at: base.appendingPathComponent(rolloutDirectory), withIntermediateDirectories: true)
        if includeWorkloads {
            try manager.createDirectory(at: base.appendingPathComponent(workloadsDirectory), withIntermediateDirectories: true)
            try Data(workloads.utf8).write(to: base.appendingPathComponent(workloadsFile))
        }
        try Data(loadMix.utf8).write(to: base.appendingPathComponent(loadMixFile))
        var paths: [Int: String] = [:]
        for weight in Set(steps + [0]) {
            let url = base.appendingPathComponent(rolloutFile(canaryWeight: weight))
            try Data(routes(weight).utf8).write(to: url)
            paths[weight] = url.path
        }
        return paths
    }
}
