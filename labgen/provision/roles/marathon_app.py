"""Role `marathon-app`: the article's app, nginx on the calico-test network (WALKTHROUGH §5.4).

Posted to Marathon with curl (PUT /v2/apps/<id> creates or updates it); done when a task of it
runs with an address from the lab's Calico pool. Needs Marathon and Docker: Ubuntu 16.04 only.
"""

from __future__ import annotations

import json
import shlex

from labgen.model import Facts, File, Lab, Node, Task
from labgen.provision import pins
from labgen.provision.shell import wait_until
from labgen.provision.stack import CALICO_NETWORK as NETWORK
from labgen.provision.stack import calico_pool as pool
from labgen.provision.stack import marathon_url as url
from labgen.provision.stack import require_docker, require_marathon

APP_ID = "my-docker-task"
APP_FILE = f"/etc/marathon/apps/{APP_ID}.json"


def app_json() -> str:
    app = {
        "id": APP_ID,
        "cpus": 0.1,
        "mem": 64.0,
        "container": {
            "type": "DOCKER",
            "docker": {"network": "USER", "image": pins.NGINX_IMAGE},
        },
        "ipAddress": {"networkName": NETWORK},
    }
    return json.dumps(app, indent=2) + "\n"


def in_pool_check(lab: Lab, node: Node) -> str:
    """Passes when a running task of the app has an address inside the pool."""
    tasks_url = shlex.quote(url(node, f"/v2/apps/{APP_ID}/tasks"))
    script = (
        "import ipaddress,json,sys; p=ipaddress.ip_network(sys.argv[1]); "
        'ts=json.load(sys.stdin)["tasks"]; '
        'sys.exit(0 if any(t.get("state")=="TASK_RUNNING" and '
        'any(ipaddress.ip_address(a["ipAddress"]) in p for a in t.get("ipAddresses") or []) '
        "for t in ts) else 1)"
    )
    return f"curl -sf {tasks_url} | python3 -c {shlex.quote(script)} {shlex.quote(pool(lab))}"


def tasks(lab: Lab, node: Node, facts: Facts) -> list[Task]:
    distro = facts.distro
    require_marathon("marathon-app", distro)
    require_docker("marathon-app", lab, distro)
    app_url = shlex.quote(url(node, f"/v2/apps/{APP_ID}"))
    put = f"curl -sf -X PUT -H 'Content-Type: application/json' --data @{APP_FILE} {app_url} >/dev/null"
    running = in_pool_check(lab, node)
    return [
        Task(f"app {APP_ID} (definition)", files=(File(APP_FILE, app_json()),), run=(put,)),
        Task(f"app {APP_ID} posted to Marathon", check=f"curl -sf {app_url} >/dev/null", run=(put,)),
        Task(
            f"app running with an address in {pool(lab)}",
            check=running,
            run=(wait_until(running, 300, f"{APP_ID} running on {NETWORK}", diagnose=f"curl -s {app_url}/tasks"),),
        ),
    ]
