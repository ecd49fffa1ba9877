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
    yml, sc = draft(
        "# Start\n\nWe begin.\n\n```\n[root@ubuntu-2 ~]# ip route\n```\n\n"
        "## Config\n\n    cat <<EOF > /etc/x.conf\n    a=1\n    EOF\n"
    )
    steps = sc.variants["default"].steps
    assert [s.kind for s in steps] == ["observe", "setup"]
    assert steps[0].nodes == ("ubuntu-2",) and steps[0].run == "ip route"
    assert steps[1].run == "cat <<EOF > /etc/x.conf\na=1\nEOF"
    assert "TODO: which node?" in yml and steps[1].nodes == ("which-node",)


def test_unknown_host_is_marked_not_guessed():
    yml, sc = draft("# A\n\n[root@web-9 ~]# ls\n")
    assert sc.variants["default"].steps[0].nodes == ("which-node",)


def test_hostile_text_is_quoted_and_stripped():
    nasty = (
        '# x\u202e"\n\n$ rm -rf / ; echo "}\n\x1b[31m\x00 text\n\n'
        "    cat <<EOF > /tmp/a\n    $(reboot) `id` ' \" \\\n    EOF\n"
    )
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
    yml, sc = draft(
        "# A\n\n    # IP_AUTODETECTION_METHOD\n    docker\n    docker 与 calico 整合\n"
        "    docker ps -a\n\n$ ./configure --prefix=/x\n"
    )
    runs = [s.run for s in sc.variants["default"].steps if s.run]
    assert runs == ["docker ps -a\n./configure --prefix=/x"]


def test_order_of_commands_and_heredocs_is_kept():
    _, sc = draft(
        "# Install\n\n    apt-key adv --recv X\n    cat <<EOF > /etc/a.list\n    deb x\n    EOF\n"
        "    apt-get install y\n"
    )
    runs = [s.run for s in sc.variants["default"].steps]
    assert runs == ["apt-key adv --recv X", "cat <<EOF > /etc/a.list\ndeb x\nEOF", "apt-get install y"]


# ---- one language (issue 19's rule, issue 21's import): the draft speaks the article's language

ZH_ARTICLE = (
    "# 查看路由\n\n在 ubuntu-2 上看 calico 写的路由。\n\n```\n[root@ubuntu-2 ~]# ip route\n```\n\n"
    "## calico\n\n检查 docker 与 calico 整合的网络。\n\n```\n[root@ubuntu-1 ~]# docker network ls\n```\n"
)
EN_ARTICLE = (
    "# Routes\n\nLook at the routes calico wrote on ubuntu-2.\n\n```\n[root@ubuntu-2 ~]# ip route\n```\n\n"
    "## 简介 of the network\n\nThe network, as Docker sees it.\n\n"
    "```\n[root@ubuntu-1 ~]# docker network ls\n```\n"
)


def all_texts(sc):
    from labgen.scenario.language import texts

    return list(texts(sc))


def test_the_article_language_is_the_majority_of_its_prose():
    assert importer.article_language(importer.parse(ZH_ARTICLE)) == "zh"
    assert importer.article_language(importer.parse(EN_ARTICLE)) == "en"
    # commands do not count: an English-looking block of shell in a Chinese article
    shell = "\n".join(f"    docker run --name c{i} busybox sleep 1" for i in range(20))
    assert importer.article_language(importer.parse("# 安装\n\n安装并启动容器。\n\n" + shell + "\n")) == "zh"


def test_a_chinese_article_gives_a_chinese_only_draft():
    drafts = importer.parse(ZH_ARTICLE)
    yml = importer.render(drafts, "mesos-calico", NODES, "draft", "zh")
    sc = parse_scenario(yamlsrc.load_text(yml, "draft.yml"))
    body = yml.split("\nid: ", 1)[1]  # past the header comment
    assert "{en:" not in body and "TODO: English" not in body
    assert all(t.zh and not t.en for t in all_texts(sc)), [t for t in all_texts(sc) if t.en]
    steps = sc.variants["default"].steps
    assert [s.title.zh for s in steps] == ["查看路由", "calico"]
    assert '    title: {zh: "calico"}' in yml  # ASCII alone would read as English
    assert sc.title.zh == "TODO: 标题"


def test_an_english_article_gives_an_english_only_draft():
    yml = importer.render(importer.parse(EN_ARTICLE), "mesos-calico", NODES, "draft", "en")
    sc = parse_scenario(yamlsrc.load_text(yml, "draft.yml"))
    assert all(t.en and not t.zh for t in all_texts(sc)), [t for t in all_texts(sc) if t.zh]
    assert '    title: {en: "简介 of the network"}' in yml  # one Chinese word would read as Chinese
    assert sc.variants["default"].steps[0].explain.en == "Look at the routes calico wrote on ubuntu-2."


def test_the_untitled_first_section_is_named_in_the_drafts_language():
    for lang, title in (("en", "Introduction"), ("zh", "简介")):
        yml = importer.render(importer.parse("Just text.\n\n$ ls /tmp\n"), "mesos-calico", NODES, "d", lang)
        assert parse_scenario(yamlsrc.load_text(yml, "d.yml")).variants["default"].steps[0].title.get(lang) == title


def test_cli_import_writes_the_article_language_and_show_accepts_the_draft(tmp_path):
    article = tmp_path / "routes.md"
    article.write_text(ZH_ARTICLE, encoding="utf-8")
    out = tmp_path / "draft.yml"
    res = labgen_sealed("scenario", "import", str(article), "--lab", "mesos-calico", "-o", str(out), cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "texts in Chinese" in res.stdout
    # every prompt named a lab node: the draft is checked against the lab and shown as it is
    shown = labgen_sealed("scenario", "show", str(out), "--lang", "zh", cwd=tmp_path)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "查看路由" in shown.stdout and "docker network ls" in shown.stdout
    assert "TODO: 标题" in shown.stdout
    from labgen.words import words

    assert words("language", "zh")["fallback_note"] not in shown.stdout  # nothing falls back
    # --lang overrides the guess
    forced = tmp_path / "forced.yml"
    res = labgen_sealed(
        "scenario", "import", str(article), "--lab", "mesos-calico", "-o", str(forced), "--lang", "en", cwd=tmp_path
    )
    assert res.returncode == 0 and "texts in English" in res.stdout
    sc = parse_scenario(yamlsrc.load_text(forced.read_text(), "forced.yml"))
    assert all(t.en and not t.zh for t in all_texts(sc))


def test_the_seed_excerpt_is_read_as_chinese_and_its_commands_go_to_their_roles_nodes(tmp_path):
    out = tmp_path / "draft.yml"
    res = labgen_sealed("scenario", "import", str(EXCERPT), "--lab", "mesos-calico", "-o", str(out), cwd=tmp_path)
    assert res.returncode == 0 and "texts in Chinese" in res.stdout, res.stdout + res.stderr
    assert "of" in res.stdout and "runnable steps placed on nodes (guesses)" in res.stdout
    shown = labgen_sealed("scenario", "show", str(out), cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr  # every guess is a real node: the draft runs
    sc = parse_scenario(yamlsrc.load_text(out.read_text(), "draft.yml"))
    on = {st.run.splitlines()[0]: st.nodes for st in sc.variants["default"].steps if st.run}
    assert on["cat <<EOF >> /etc/mesos-master/quorum"] == ("ubuntu-1",)  # the master
    assert on["cat <<EOF >> /etc/mesos-slave/ip"] == ("ubuntu-2", "ubuntu-3")  # the agents
    assert on["apt-get -y install mesos"] == ("ubuntu-1", "ubuntu-2", "ubuntu-3")  # every Mesos node
    assert "# TODO: guessed: the nodes with role mesos-slave" in out.read_text()


def test_a_role_is_named_only_with_ascii_word_edges_and_only_if_the_lab_has_it():
    roles = {"a": ["mesos-master"], "b": ["mesos-slave", "docker"]}
    assert importer.role_named("安装mesos", roles) == importer.ROLE_MARK + "mesos"  # Chinese runs into it
    assert importer.role_named("/etc/mesos-slave/ip", roles) == importer.ROLE_MARK + "mesos-slave"
    assert importer.role_named("mesosphere repository", roles) is None  # a longer word
    assert importer.role_named("calicoctl get ipPool", roles) is None  # no calico node here
    assert importer.role_named("docker network ls", roles) == importer.ROLE_MARK + "docker"
    assert importer.role_nodes("mesos", ["a", "b"], roles) == ["a", "b"]


def test_without_roles_a_section_naming_no_node_keeps_which_node():
    yml = importer.render(importer.parse("# Mesos\n\n$ apt-get install mesos\n"), "mesos-calico", NODES, "d")
    assert "TODO: which node?" in yml
    roles = {"ubuntu-1": ["mesos-master"], "ubuntu-2": ["mesos-slave"], "ubuntu-3": ["base"]}
    yml = importer.render(
        importer.parse("# Mesos\n\n$ apt-get install mesos\n"), "mesos-calico", NODES, "d", roles=roles
    )
    assert '"on": [ubuntu-1, ubuntu-2]  # TODO: guessed: the nodes with role mesos-master or mesos-slave' in yml
