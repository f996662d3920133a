import json, socket, sys, time
path, mode = sys.argv[1], sys.argv[2]
def connect():
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(60)
    s.connect(path)
    return s
def answer(s):
    data = b""
    while not data.endswith(b"\n"):
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace").strip()
if mode == "ask":
    s = connect()
    try:
        s.sendall(sys.stdin.buffer.read())
    except (BrokenPipeError, ConnectionResetError):
        pass
    print(answer(s))
elif mode == "flood":
    end, n = time.time() + float(sys.argv[3]), 0
    while time.time() < end:
        s = connect()
        try:
            s.sendall(b'{"v":1,"op":"status"}\n')
        except (BrokenPipeError, ConnectionResetError):
            pass
        n += bool(answer(s))
        s.close()
    print(n)
elif mode == "idle":
    conns = [connect() for _ in range(int(sys.argv[3]))]
    time.sleep(float(sys.argv[4]))
    codes = []
    for s in conns:
        s.settimeout(0.5)
        a = answer(s)
        codes.append(json.loads(a)["error"]["code"] if a else "open")
    print(json.dumps(codes))
