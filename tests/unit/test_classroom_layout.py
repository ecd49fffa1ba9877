"""classroom/layout.py in detail: names, addresses, the request checks and classroom.yml.
(test_classroom.py has the whole-classroom cases.)"""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from labgen.classroom import layout as S
from labgen.errors import InputError, LabgenError
from labgen.labfile import load_lab

DUO = Path(__file__).resolve().parent.parent / "data" / "labs" / "duo.yml"
net = ipaddress.IPv4Network


def classroom(**kw):
    base = dict(
        name="cr1",
        lab=str(DUO),
        seats=3,
        pool=net("192.168.80.0/20"),
        provider="lxc",
        ssh_port=2299,
        ssh_address="127.0.0.1",
        path=Path("/srv/cr1"),
    )
    base.update(kw)
    return S.Classroom(**base)


def problems(name="cr1", seats=2, pool="192.168.80.0/20", calico=None):
    lab = load_lab(DUO)
    if calico is not None:
        lab = replace(lab, params={"calico_pool": calico})
    try:
        S.check_request(name, seats, net(pool), lab)
    except InputError as exc:
        assert exc.hint == "nothing was created"
        return exc.problems
    return []


def test_constants_the_docs_promise():
    assert S.DEFAULT_POOL == net("10.56.0.0/18") and S.DEFAULT_SSH_PORT == 2222
    assert (S.MAX_SEATS, S.MAX_NAME) == (250, 12)
    assert (S.CLASSROOM_FILE, S.LAB_COPY) == ("classroom.yml", "lab.yml")


def test_seat_dir_instance_account_and_numbers():
    c = classroom()
    assert c.seat_dir(3) == Path("/srv/cr1/seat-03") and c.seat_dir(12) == Path("/srv/cr1/seat-12")
    assert c.instance(3) == "cr1-s03" == c.account(3)
    assert S.instance_name("ab", 110) == "ab-s110"
    assert c.numbers == [1, 2, 3] and classroom(seats=1).numbers == [1]
    assert classroom().ssh_port == 2299 and S.Classroom("a", "l", 1, S.DEFAULT_POOL, "lxc").ssh_port == 2222
    d = S.Classroom("a", "l", 1, S.DEFAULT_POOL, "lxc")
    assert (d.ssh_address, d.path, d.roles) == ("", None, ())


@pytest.mark.parametrize("name", ["a", "cr1", "a-b", "a1-2b", "abcdefghijkl", "z9"])
def test_good_names(name):
    assert S.name_problem(name) is None


@pytest.mark.parametrize("name", ["", "1a", "-a", "a-", "a--b", "A", "aB", "a_b", "a.b", "a b", "é", "a\n"])
def test_bad_names_say_what_a_name_may_hold(name):
    assert S.name_problem(name) == (
        f"classroom name {name!r} must start with a lowercase letter and hold only "
        "lowercase letters, digits and single hyphens"
    )


def test_a_long_name_says_how_long():
    assert S.name_problem("abcdefghijklm") == ("classroom name 'abcdefghijklm' is 13 characters long; at most 12")


def test_seat_networks_and_capacity():
    assert S.seat_networks(net("10.0.0.0/24"), 23) == []  # the lab is bigger than the pool
    assert S.seat_networks(net("10.0.0.0/24"), 24) == [net("10.0.0.0/24")]
    assert S.seat_networks(net("10.0.0.0/23"), 24) == [net("10.0.0.0/24"), net("10.0.1.0/24")]
    assert S.max_seats(net("10.0.0.0/24"), 24) == 0  # seat 0 stays unused
    assert S.max_seats(net("10.0.0.0/24"), 23) == 0
    assert S.max_seats(net("10.0.0.0/23"), 24) == 1
    assert S.max_seats(net("10.0.0.0/8"), 24) == 250  # capped
    assert S.max_seats(net("10.0.0.0/16"), 24) == 250
    assert S.max_seats(net("10.0.0.0/16"), 23) == 127
    assert S.seat_network(net("10.0.0.0/16"), 26, 5) == net("10.0.1.64/26")


def test_a_good_request_passes():
    assert problems() == []
    assert problems(seats=15) == [] and problems(seats=1) == []
    assert problems(pool="10.56.0.0/18", seats=63) == []
    assert problems(pool="172.16.0.0/12", seats=250) == []


@pytest.mark.parametrize("pool", ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "172.31.0.0/20", "192.168.254.0/23"])
def test_private_pools(pool):
    assert not any("private" in p for p in problems(pool=pool, seats=1))


@pytest.mark.parametrize("pool", ["8.8.0.0/16", "172.32.0.0/16", "11.0.0.0/16", "192.169.0.0/16"])
def test_public_pools_are_refused(pool):
    assert (
        f"pool {pool} is not a private network (10/8, 172.16/12, 192.168/16): seat "
        "networks would shadow real destinations" in problems(pool=pool, seats=1)
    )


def test_seat_counts_out_of_range():
    assert problems(seats=0) == ["--seats 0 is out of range: 1 to 15"]
    assert problems(seats=-1) == ["--seats -1 is out of range: 1 to 15"]
    assert problems(seats=251, pool="10.0.0.0/8") == ["--seats 251 is out of range: 1 to 250"]
    assert problems(seats=251, pool="10.0.0.0/24") == ["--seats 251 is out of range: 1 to 250"]
    assert problems(seats=250, pool="10.0.0.0/8") == []


def test_too_many_seats_for_the_pool_says_what_pool_would_do():
    assert problems(seats=16) == [
        "pool 192.168.80.0/20 holds 15 seat(s) of the lab's /24 network, not 16: give a bigger --pool (a /19 or larger)"
    ]
    assert problems(seats=2, pool="10.0.0.0/24") == [
        "pool 10.0.0.0/24 holds 0 seat(s) of the lab's /24 network, not 2: give a bigger --pool (a /22 or larger)"
    ]


def test_every_problem_at_once():
    got = problems(name="Bad", seats=0, pool="8.8.0.0/16")
    assert len(got) == 3 and got[0].startswith("classroom name 'Bad'")
    assert got[1].startswith("pool 8.8.0.0/16 is not") and got[2].startswith("--seats 0")


def test_calico_pool_overlap():
    assert problems(calico="192.168.80.0/21") == ["pool 192.168.80.0/20 overlaps the lab's calico_pool 192.168.80.0/21"]
    assert problems(calico="192.168.0.0/16") == ["pool 192.168.80.0/20 overlaps the lab's calico_pool 192.168.0.0/16"]
    assert problems(calico="172.32.0.0/16") == []
    assert problems(calico="not a network") == []  # the lab file's checks say so
    assert problems(calico="") == []


def test_seat_lists_in_detail():
    assert S.parse_seat_list(None, 3) == [1, 2, 3] == S.parse_seat_list("", 3)
    assert S.parse_seat_list(" 2 , 1 - 3 ,2", 3) == [1, 2, 3]
    assert S.parse_seat_list("3", 3) == [3] and S.parse_seat_list("1-1", 3) == [1]
    assert S.parse_seat_list("1-3", 3) == [1, 2, 3]
    with pytest.raises(InputError) as exc:
        S.parse_seat_list("1,x", 8)
    assert exc.value.problems == ["seat list '1,x': 'x' is not a number or a range like 4-6"]
    for bad in ("1000", "1-2-3", "", "1,,2", "-2", "+1"):
        with pytest.raises(InputError, match="is not a number or a range"):
            S.parse_seat_list("1," + bad if bad == "" else bad, 8)
    with pytest.raises(InputError) as exc:
        S.parse_seat_list("2, 9", 8)
    assert exc.value.problems == ["seat list '2, 9': 9 is out of range: this classroom has seats 1-8"]
    for bad in ("0", "0-2", "5-4", "7-9", "9"):
        with pytest.raises(InputError, match="out of range"):
            S.parse_seat_list(bad, 8)


def test_seat_lab_data_moves_every_address_and_keeps_the_rest():
    lab = load_lab(DUO)
    raw = yaml.safe_load(DUO.read_text())
    raw["network"]["note"] = "kept"
    c = classroom(pool=net("10.56.0.0/18"))
    data = S.seat_lab_data(raw, lab, c, 7)
    assert data["instance"] == "cr1-s07" and data["name"] == "duo"
    assert data["network"] == {"cidr": "10.56.7.0/24", "note": "kept"}
    assert data["nodes"] == [
        {"name": "ubuntu-1", "ip": "10.56.7.101", "roles": ["base"]},
        {"name": "ubuntu-2", "ip": "10.56.7.102", "roles": ["base"]},
    ]
    assert raw["network"]["cidr"] == "192.168.56.0/24" and "instance" not in raw  # not changed
    assert raw["nodes"][0]["ip"] == "192.168.56.101"
    assert data["boxes"] == raw["boxes"] and data["defaults"] == raw["defaults"]


def test_seat_lab_text_header_and_yaml():
    lab = load_lab(DUO)
    raw = yaml.safe_load(DUO.read_text())
    raw["description"] = "两个节点"
    text = S.seat_lab_text(raw, lab, classroom(), 2)
    lines = text.splitlines()
    assert lines[0] == "# Seat 2 of classroom cr1: written by `labgen classroom up` from"
    assert lines[1] == f"# {DUO}. Only `instance` and the addresses differ from the lab file."
    assert lines[2] == "name: duo"  # the lab's own key order
    assert "description: 两个节点" in lines
    assert yaml.safe_load(text)["nodes"][1]["ip"] == "192.168.82.102"


def test_classroom_yml_round_trip(tmp_path):
    c = classroom(path=tmp_path, roles=("base", "docker"), ssh_address="10.0.0.5")
    text = S.classroom_text(c)
    assert text.startswith(
        "# A labgen classroom: `labgen classroom status` in this dir shows its seats.\nname: cr1\nlab: "
    )
    (tmp_path / "classroom.yml").write_text(text)
    assert S.load_classroom(tmp_path) == c
    assert yaml.safe_load(text)["roles"] == ["base", "docker"]
    assert list(yaml.safe_load(text)) == [
        "name",
        "lab",
        "seats",
        "pool",
        "provider",
        "ssh_port",
        "ssh_address",
        "roles",
    ]


def test_classroom_yml_defaults(tmp_path):
    (tmp_path / "classroom.yml").write_text(
        "name: a\nlab: duo\nseats: 2\npool: 10.56.0.0/18\nprovider: lxc\nssh_address: null\n"
    )
    c = S.load_classroom(tmp_path / ".")
    assert (c.ssh_port, c.ssh_address, c.roles, c.path) == (2222, "", (), tmp_path.resolve())
    assert (c.name, c.lab, c.seats, c.pool, c.provider) == ("a", "duo", 2, S.DEFAULT_POOL, "lxc")


def test_a_missing_classroom_says_how_to_make_one(tmp_path):
    with pytest.raises(LabgenError) as exc:
        S.load_classroom(tmp_path)
    assert exc.value.message == f"no classroom in {tmp_path.resolve()}"
    assert exc.value.hint == ("cd into a classroom dir, pass --dir, or create one: `labgen classroom up LAB --seats N`")
    assert exc.value.__suppress_context__


@pytest.mark.parametrize(
    "text",
    [
        "name: a\nlab: duo\nseats: 2\npool: 10.56.0.0/18\n",  # no provider
        "name: a\nlab: duo\nseats: x\npool: 10.56.0.0/18\nprovider: lxc\n",
        "name: a\nlab: duo\nseats: 2\npool: 10.56.0.1/18\nprovider: lxc\n",
        "name: a\nlab: duo\nseats: 2\npool: 10.56.0.0/18\nprovider: lxc\nssh_port: [1]\n",
        "- a list\n",
        "name: [unclosed\n",
        "",
    ],
)
def test_a_damaged_classroom_yml_is_one_line(tmp_path, text):
    (tmp_path / "classroom.yml").write_text(text)
    with pytest.raises(LabgenError) as exc:
        S.load_classroom(tmp_path)
    assert exc.value.message.startswith(f"{tmp_path / 'classroom.yml'} is damaged: ")
    assert "\n" not in exc.value.message.split("is damaged: ")[0]
    assert exc.value.__suppress_context__


@pytest.mark.parametrize(
    "name, seats, problem",
    [
        (
            "Bad",
            2,
            "line 1: classroom: name 'Bad' is not valid; expected the classroom's name: a "
            "lowercase letter, then lowercase letters, digits and single hyphens; at most 12 "
            "characters, e.g. cr1",
        ),
        ("a", 0, "line 3: classroom: seats 0 is too small; expected an integer from 1 to 250 (how many seats)"),
        ("a", 251, "line 3: classroom: seats 251 is too large; expected an integer from 1 to 250 (how many seats)"),
    ],
)
def test_a_classroom_yml_with_a_bad_name_or_count_is_damaged(tmp_path, name, seats, problem):
    (tmp_path / "classroom.yml").write_text(
        f"name: {name}\nlab: duo\nseats: {seats}\npool: 10.56.0.0/18\nprovider: lxc\n"
    )
    with pytest.raises(LabgenError) as exc:
        S.load_classroom(tmp_path)
    assert exc.value.message == f"{tmp_path / 'classroom.yml'} is damaged: {problem}"


def test_classroom_yml_seat_count_limits_are_inclusive(tmp_path):
    for seats in (1, 250):
        (tmp_path / "classroom.yml").write_text(f"name: a\nlab: duo\nseats: {seats}\npool: 10.0.0.0/8\nprovider: lxc\n")
        assert S.load_classroom(tmp_path).seats == seats


def test_find_classroom_dir_looks_upwards(tmp_path, monkeypatch):
    room = tmp_path / "room"
    (room / "seat-01" / "deep").mkdir(parents=True)
    (room / "classroom.yml").write_text("name: a\n")
    assert S.find_classroom_dir(room / "seat-01" / "deep") == room.resolve()
    assert S.find_classroom_dir(room) == room.resolve()
    monkeypatch.chdir(room / "seat-01")
    assert S.find_classroom_dir() == room.resolve()
    (tmp_path / "other" / "classroom.yml").mkdir(parents=True)  # a dir, not a file
    with pytest.raises(LabgenError) as exc:
        S.find_classroom_dir(tmp_path / "other")
    assert exc.value.message == f"no classroom in {(tmp_path / 'other').resolve()} or above"
    assert exc.value.hint == ("cd into a classroom dir, pass --dir, or create one: `labgen classroom up LAB --seats N`")


def test_seat_lab_text_wraps_long_values_at_100_columns():
    lab = load_lab(DUO)
    raw = yaml.safe_load(DUO.read_text())

    def description_lines(words):
        raw["description"] = "abc " * words  # the trailing space keeps it quoted
        lines = S.seat_lab_text(raw, lab, classroom(), 1).splitlines()
        first = next(i for i, line in enumerate(lines) if line.startswith("description:"))
        return [lines[first]] + [x for x in lines[first + 1 : first + 3] if x.startswith("  abc")]

    assert len(description_lines(22)) == 1  # 103 columns: not wrapped at 80
    assert [len(x) for x in description_lines(23)] == [101, 7]  # wrapped after column 100


def test_classroom_yml_is_read_as_utf8_under_an_ascii_locale(tmp_path):
    import locale

    (tmp_path / "classroom.yml").write_text(
        "name: a\nlab: 实验.yml\nseats: 2\npool: 10.56.0.0/18\nprovider: lxc\n", encoding="utf-8"
    )
    saved = locale.setlocale(locale.LC_CTYPE)
    locale.setlocale(locale.LC_CTYPE, "C")  # open() would default to ASCII now
    try:
        assert S.load_classroom(tmp_path).lab == "实验.yml"
    finally:
        locale.setlocale(locale.LC_CTYPE, saved)
