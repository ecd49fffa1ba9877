"""What each student receives: a folder with ssh_config, the seat's private key, known_hosts
(the jump host's key, pinned) and sheet.html, a one-page A4 access sheet in English and
Chinese. Pure rendering plus writing files; the keys come from the classroom dir.

Nodes' host keys are not pinned (UserKnownHostsFile /dev/null, as Vagrant does): a reset
seat gets new ones, and the hop to them runs inside the tunnel from the pinned jump host.
"""

from __future__ import annotations

import html
import os
import shutil
from pathlib import Path

from labgen.classroom.seats import Classroom

KEY_NAME = "id_ed25519"


def jump_alias(c: Classroom) -> str:
    return f"{c.name}-jump"


def ssh_config_text(c: Classroom, seat: int, nodes: list[tuple[str, str]]) -> str:
    """nodes: (name, ip) of the seat's nodes."""
    lines = [f"# labgen classroom {c.name}, seat {seat}. In this folder: ssh -F ssh_config NODE",
             f"Host {jump_alias(c)}",
             f"  HostName {c.ssh_address}",
             f"  Port {c.ssh_port}",
             f"  User {c.account(seat)}",
             f"  IdentityFile {KEY_NAME}",
             "  IdentitiesOnly yes",
             f"  HostKeyAlias {jump_alias(c)}",
             "  UserKnownHostsFile known_hosts",
             "  StrictHostKeyChecking yes",
             ""]
    for name, ip in nodes:
        lines += [f"Host {name}",
                  f"  HostName {ip}",
                  "  User vagrant",
                  f"  ProxyJump {jump_alias(c)}",
                  f"  IdentityFile {KEY_NAME}",
                  "  IdentitiesOnly yes",
                  "  StrictHostKeyChecking no",
                  "  UserKnownHostsFile /dev/null",
                  "  LogLevel ERROR",
                  ""]
    return "\n".join(lines)


def known_hosts_text(c: Classroom, host_key: str) -> str:
    kind, key = host_key.split()[:2]
    return f"{jump_alias(c)} {kind} {key}\n"


CSS = """
@page { size: A4; margin: 12mm 14mm; }
* { box-sizing: border-box; }
body { font-family: "Noto Sans", "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC",
       "Microsoft YaHei", sans-serif; font-size: 10pt; line-height: 1.4; color: #111; margin: 0; }
header { display: flex; justify-content: space-between; align-items: flex-end;
         border-bottom: 2px solid #111; padding-bottom: 4pt; margin-bottom: 8pt; }
h1 { font-size: 17pt; margin: 0; }
.seat { font-size: 30pt; font-weight: 700; line-height: 1; }
h2 { font-size: 12pt; margin: 10pt 0 4pt; border-bottom: 1px solid #999; }
ol { margin: 2pt 0 4pt 16pt; padding: 0; } li { margin: 2pt 0; }
code, pre { font-family: "DejaVu Sans Mono", "Noto Sans Mono", Consolas, monospace; font-size: 9.5pt; }
pre { background: #f2f2f2; border: 1px solid #ccc; padding: 3pt 6pt; margin: 3pt 0; }
table { border-collapse: collapse; width: 100%; margin: 3pt 0; }
th, td { border: 1px solid #999; padding: 2pt 5pt; text-align: left; }
th { background: #eee; }
.small { font-size: 8.5pt; color: #333; }
.zh { font-size: 10.5pt; }
ul.help { margin: 2pt 0 0 16pt; padding: 0; font-size: 9pt; }
@media screen { body { max-width: 182mm; margin: 12mm auto; } }
"""


def sheet_html(c: Classroom, seat: int, lab_name: str, nodes: list[tuple[str, str]]) -> str:
    e = html.escape
    first = nodes[0][0] if nodes else "NODE"
    rows = "".join(f"<tr><td><code>{e(n)}</code></td><td><code>{e(ip)}</code></td>"
                   f"<td><code>ssh -F ssh_config {e(n)}</code></td></tr>" for n, ip in nodes)
    jump = f"{e(c.ssh_address)}:{c.ssh_port}"
    account = e(c.account(seat))
    folder = f"seat-{seat:02d}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Seat {seat} · classroom {e(c.name)}</title><style>{CSS}</style></head>
<body>
<header><div><h1>Your lab · 你的实验环境</h1>
<div>classroom <b>{e(c.name)}</b> · lab <b>{e(lab_name)}</b> · folder <code>{folder}</code></div></div>
<div class="seat">Seat {seat} · 座位 {seat}</div></header>

<section lang="en">
<h2>How to log in</h2>
<p>Your folder holds <code>ssh_config</code> (the connection settings), <code>{KEY_NAME}</code>
(your private key: keep it to yourself) and <code>known_hosts</code> (the jump host's public
key, so SSH knows it is talking to the right machine). All you need is an SSH client: macOS and
Linux have one, and so does Windows 10 or later (PowerShell).</p>
<ol>
<li>Open a terminal in the folder.</li>
<li>macOS / Linux only, once: <code>chmod 600 {KEY_NAME}</code></li>
<li>Log in to a node: <code>ssh -F ssh_config {e(first)}</code> (you are user <code>vagrant</code>;
<code>sudo</code> works).</li>
</ol>
<table><tr><th>Node</th><th>Address</th><th>Command</th></tr>{rows}</table>
<p class="small">Every connection goes through the jump host {jump} as account <code>{account}</code>,
which can reach only your own seat's nodes. Broke something? Ask the instructor to reset seat {seat}.</p>
<ul class="help">
<li><b>Permission denied (publickey)</b>: run the command inside the folder, with <code>-F ssh_config</code>.</li>
<li><b>UNPROTECTED PRIVATE KEY FILE</b>: run <code>chmod 600 {KEY_NAME}</code>.</li>
<li><b>Connection refused or timed out</b>: your computer must reach {jump}; check the network you are on.</li>
</ul>
</section>

<section lang="zh-CN" class="zh">
<h2>如何登录</h2>
<p>文件夹里有三个文件：<code>ssh_config</code>（连接配置）、<code>{KEY_NAME}</code>（你的私钥，请勿外传）和
<code>known_hosts</code>（跳板机的主机公钥，用来确认连接的是正确的服务器）。只需要一个 SSH 客户端：macOS 和 Linux 自带，
Windows 10 及以上版本可以直接在 PowerShell 中使用。</p>
<ol>
<li>在这个文件夹中打开终端。</li>
<li>仅 macOS / Linux，执行一次：<code>chmod 600 {KEY_NAME}</code></li>
<li>登录节点：<code>ssh -F ssh_config {e(first)}</code>（登录用户为 <code>vagrant</code>，\
可以使用 <code>sudo</code>）。</li>
</ol>
<table><tr><th>节点</th><th>地址</th><th>登录命令</th></tr>{rows}</table>
<p class="small">所有连接都经由跳板机 {jump} 转发，使用账号 <code>{account}</code>，它只能访问你自己座位的节点。
实验环境弄坏了也没关系，请讲师重置 {seat} 号座位即可。</p>
<ul class="help">
<li><b>Permission denied (publickey)</b>：请在这个文件夹里执行命令，并带上 <code>-F ssh_config</code>。</li>
<li><b>UNPROTECTED PRIVATE KEY FILE</b>：先执行 <code>chmod 600 {KEY_NAME}</code>。</li>
<li><b>Connection refused</b> 或连接超时：你的电脑必须能访问 {jump}，请检查所连接的网络。</li>
</ul>
</section>
</body></html>
"""


def write_all(c: Classroom, seats: list[int], out: Path) -> list[Path]:
    """Write every chosen seat's folder under `out`. Returns the sheet paths."""
    from labgen.classroom import access, ops

    host_key = access.host_public_key(c.name)
    lab, _ = ops.lab_of(c)
    written = []
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    os.chmod(out, 0o700)                 # private keys inside
    for seat in seats:
        model, _ = ops.seat_lab(c, seat)
        nodes = [(n.name, str(n.ip)) for n in model.nodes]
        folder = out / f"seat-{seat:02d}"
        folder.mkdir(exist_ok=True)
        key = ops.key_path(c, seat)
        shutil.copyfile(key, folder / KEY_NAME)
        os.chmod(folder / KEY_NAME, 0o600)
        (folder / "ssh_config").write_text(ssh_config_text(c, seat, nodes))
        (folder / "known_hosts").write_text(known_hosts_text(c, host_key))
        sheet = folder / "sheet.html"
        sheet.write_text(sheet_html(c, seat, lab.name, nodes), encoding="utf-8")
        written.append(sheet)
    return written
