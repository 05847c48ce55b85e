#!/usr/bin/python3
"""A real gRPC server and client (grpcio, gRPC's C core) for end-to-end tests through meshsim.

  grpc-echo.py server VERSION
      Serves echo.Echo on 127.0.0.1 (an ephemeral port, printed on the first line) until its
      standard input closes. Messages are raw bytes (no protobuf), so no generated code:
        Say    unary; answers "VERSION|request|x-user-group"; "fail:" in the request aborts with
               FAILED_PRECONDITION and trailing metadata x-why=asked (a trailers-only answer)
        Count  server streaming; the request is a count N, the answers "0".."N-1"
        Sum    client streaming; answers the total length of the messages
        Shout  bidirectional; answers each message upper-cased

  grpc-echo.py client TARGET AUTHORITY CALL...
      Makes each CALL through TARGET (host:port) with :authority AUTHORITY and prints one JSON
      object per call: {"call", "code", "details", "reply", "trailers"}. CALLs:
        say, say-beta (x-user-group: beta), fail, count, sum, shout, missing (an unknown method),
        greet, greet-beta (helloworld.Greeter/SayHello, which meshsim's simulated gRPC pods answer)
"""
import json
import sys
from concurrent import futures

import grpc


def identity(data):
    return data


def serve(version):
    def say(request, context):
        if request.startswith(b"fail:"):
            context.set_trailing_metadata((("x-why", "asked"),))
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "asked to fail")
        group = dict(context.invocation_metadata()).get("x-user-group", "-")
        context.set_trailing_metadata((("x-version", version),))
        return b"%s|%s|%s" % (version.encode(), request, group.encode())

    def count(request, context):
        for i in range(int(request.decode())):
            yield b"%d" % i

    def total(requests, context):
        return b"%d" % sum(len(message) for message in requests)

    def shout(requests, context):
        for message in requests:
            yield message.upper()

    handlers = {
        "Say": grpc.unary_unary_rpc_method_handler(say, identity, identity),
        "Count": grpc.unary_stream_rpc_method_handler(count, identity, identity),
        "Sum": grpc.stream_unary_rpc_method_handler(total, identity, identity),
        "Shout": grpc.stream_stream_rpc_method_handler(shout, identity, identity),
    }
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("echo.Echo", handlers),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    sys.stdin.read()  # until the test closes our standard input
    server.stop(grace=None)


def call(channel, name):
    unary = channel.unary_unary("/echo.Echo/Say", identity, identity)
    if name == "say":
        return unary.with_call(b"hello", timeout=10)
    if name == "say-beta":
        return unary.with_call(b"hello", metadata=(("x-user-group", "beta"),), timeout=10)
    if name == "fail":
        return unary.with_call(b"fail:now", timeout=10)
    if name == "count":
        answers = channel.unary_stream("/echo.Echo/Count", identity, identity)(b"5", timeout=10)
        return b",".join(answers), answers
    if name == "sum":
        messages = iter([b"ab", b"cde", b"x" * 100000])
        return channel.stream_unary("/echo.Echo/Sum", identity, identity).with_call(messages, timeout=10)
    if name == "shout":
        answers = channel.stream_stream("/echo.Echo/Shout", identity, identity)(iter([b"a", b"b"]), timeout=10)
        return b",".join(answers), answers
    if name in ("greet", "greet-beta"):
        metadata = (("x-user-group", "beta"),) if name == "greet-beta" else ()
        greeter = channel.unary_unary("/helloworld.Greeter/SayHello", identity, identity)
        return greeter.with_call(b"world", metadata=metadata, timeout=10)
    if name == "missing":
        return channel.unary_unary("/echo.Echo/Missing", identity, identity).with_call(b"", timeout=10)
    raise SystemExit("unknown call " + name)


def client(target, authority, names):
    with grpc.insecure_channel(target, options=[("grpc.default_authority", authority)]) as channel:
        for name in names:
            result = {"call": name}
            try:
                reply, rpc = call(channel, name)
                result.update(code=rpc.code().name, details=rpc.details() or "", reply=reply.decode())
                trailers = rpc.trailing_metadata()
            except grpc.RpcError as error:
                result.update(code=error.code().name, details=error.details() or "", reply=None)
                trailers = error.trailing_metadata()
            result["trailers"] = {key: value for key, value in (trailers or ())}
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "server":
        serve(sys.argv[2])
    elif len(sys.argv) >= 5 and sys.argv[1] == "client":
        client(sys.argv[2], sys.argv[3], sys.argv[4:])
    else:
        raise SystemExit(__doc__)
