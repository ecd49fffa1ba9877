"""labgen scenario import: an article (a stranger's text) -> a draft that loads; nothing runs."""

from pathlib import Path

from labgen import yamlsrc
from labgen.scenario import importer
from labgen.scenario.load import parse_scenario
from tests.runcli import labgen_sealed

NODES = ["ubuntu-1", "ubuntu-2", "ubuntu-3"]
EXCERPT = Path(__file__).resolve().parents[1] / "data" / "articles" / "mesos-excerpt.txt"


def draft(text):
    yml = importer.render(importer.parse(text), "mesos-calico", NODES, "draft")
    return yml, parse_scenario(yamlsrc.load_text(yml, "draft.yml"))


def test_markdown_headings_prompts_heredocs():
    yml, sc = draft("# Start\n\nWe begin.\n\n```\n[root@ubuntu-2 ~]# ip route\n```\n\n"
                    "## Config\n\n    cat <<EOF > /etc/x.conf\n    a=1\n    EOF\n")
    steps = sc.variants["default"].steps
    assert [s.kind for s in steps] == ["observe", "setup"]
    assert steps[0].nodes == ("ubuntu-2",) and steps[0].run == "ip route"
    assert steps[1].run == "cat <<EOF > /etc/x.conf\na=1\nEOF"
    assert "TODO: which node?" in yml and steps[1].nodes == ("which-node",)


def test_unknown_host_is_marked_not_guessed():
    yml, sc = draft("# A\n\n[root@web-9 ~]# ls\n")
    assert sc.variants["default"].steps[0].nodes == ("which-node",)


def test_hostile_text_is_quoted_and_stripped():
    nasty = ('# x\u202e"\n\n$ rm -rf / ; echo "}\n\x1b[31m\x00 text\n\n'
             '    cat <<EOF > /tmp/a\n    $(reboot) `id` \' " \\\n    EOF\n')
    yml, sc = draft(nasty)
    assert "\x1b" not in yml and "\x00" not in yml and "\u202e" not in yml
    runs = [s.run for s in sc.variants["default"].steps if s.run]
    assert 'rm -rf / ; echo "}' in runs[0]
    assert "$(reboot) `id` ' \" \\" in runs[1]


def test_seed_excerpt_cli_writes_a_draft_that_loads(tmp_path):
    out = tmp_path / "draft.yml"
    res = labgen_sealed("scenario", "import", str(EXCERPT), "--lab", "mesos-calico", "-o", str(out), cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    sc = parse_scenario(yamlsrc.load_text(out.read_text(), "draft.yml"))
    runs = "\n".join(s.run or "" for s in sc.variants["default"].steps)
    assert "docker network create --driver calico" in runs and "/etc/mesos/zk" in runs
    again = labgen_sealed("scenario", "import", str(EXCERPT), "--lab", "mesos-calico", "-o", str(out), cwd=tmp_path)
    assert again.returncode == 2 and "exists" in again.stderr and "Traceback" not in again.stderr


def test_comments_and_prose_in_indented_blocks_are_not_commands():
    yml, sc = draft("# A\n\n    # IP_AUTODETECTION_METHOD\n    docker\n    docker 与 calico 整合\n"
                    "    docker ps -a\n\n$ ./configure --prefix=/x\n")
    runs = [s.run for s in sc.variants["default"].steps if s.run]
    assert runs == ["docker ps -a\n./configure --prefix=/x"]


def test_order_of_commands_and_heredocs_is_kept():
    _, sc = draft("# Install\n\n    apt-key adv --recv X\n    cat <<EOF > /etc/a.list\n    deb x\n    EOF\n"
                  "    apt-get install y\n")
    runs = [s.run for s in sc.variants["default"].steps]
    assert runs == ["apt-key adv --recv X", "cat <<EOF > /etc/a.list\ndeb x\nEOF", "apt-get install y"]
