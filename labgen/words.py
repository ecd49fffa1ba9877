"""Every fixed word labgen shows a person, English and Chinese side by side (issue 16 §2).

CATALOGUE[area][key] = (English, 中文). One module rather than gettext catalogues: the words
are few, both languages are reviewed together, and a key missing in one language cannot
exist (tests/unit/test_words.py checks every pair). Modules read their area with
`words(area, lang)` or `table(area)` (the {"en": {...}, "zh": {...}} shape they had).
"""

from __future__ import annotations

CATALOGUE: dict[str, dict[str, tuple[str, str]]] = {
    # the seat pages and the class board (labgen/web)
    "web": {
        "seat": ("Seat", "座位"),
        "board": ("Class board", "课堂看板"),
        "lang_other": ("中文", "English"),
        "lang_other_code": ("zh", "en"),
        "waiting": (
            "No scenario has been started on this seat yet. Your instructor will start it.",
            "这个座位还没有开始任何场景，请等待老师开始。",
        ),
        "task": ("Task", "任务"),
        "question": ("Question", "问答题"),
        "goal": ("Goal", "目标"),
        "login": ("How to log in", "登录方式"),
        "check": ("Check", "检查"),
        "hint": ("Hint", "提示"),
        "answer": ("Answer", "回答"),
        "give_up": ("Give up (show the solution)", "放弃（查看参考解法）"),
        "give_up_confirm": (
            "Run the solution? The task will count as solved by the solution.",
            "要运行参考解法吗？这个任务将记为“用参考解法完成”。",
        ),
        "your_answer": ("Your answer", "你的答案"),
        "hints": ("Hints", "提示"),
        "no_hints": ("No more hints.", "没有更多提示了。"),
        "last_check": ("Last check:", "上次检查："),
        "ok": ("Passed", "通过"),
        "not_yet": ("Not yet", "还没有通过"),
        "attempts": ("attempts", "次尝试"),
        "attempt": ("attempt", "次尝试"),
        "attempts_col": ("Attempts", "尝试次数"),
        "finished": ("Well done: every task and question is finished.", "太棒了：所有任务和问答题都已完成。"),
        "passed": ("Check passed: on to the next step.", "检查通过，进入下一步。"),
        "right": ("Right!", "回答正确！"),
        "solved": ("Solved by the solution.", "已用参考解法完成。"),
        "busy": (
            "A check is already running or ran a moment ago: wait a few seconds and try again.",
            "已有一个检查正在进行，或刚刚检查过：请稍等几秒再试。",
        ),
        "error": ("Something went wrong on the lab; tell your instructor.", "实验环境出了问题，请告诉老师。"),
        "checking": ("Checking…", "正在检查……"),
        "forbidden": ("403 Forbidden: this link is not valid for this seat.", "403 禁止访问：这个链接不属于这个座位。"),
        "cross_site": (
            "403 Forbidden: this request did not come from this page.",
            "403 禁止访问：这个请求不是从本页面发出的。",
        ),
        "not_found": ("404 Not Found", "404 未找到"),
        "progress": ("Progress", "进度"),
        "step": ("Step", "步骤"),
        "status": ("Status", "状态"),
        "time": ("Time", "用时"),
        "status_open": ("in progress", "进行中"),
        "status_passed": ("done", "已完成"),
        "status_solved": ("by solution", "用参考解法"),
        "status_not_started": ("not started", "未开始"),
        "col_seat": ("Seat", "座位"),
        "col_step": ("Current step", "当前步骤"),
        "col_tasks": ("Tasks done", "已完成任务"),
        "col_checks": ("Checks (passed/tried)", "检查（通过/尝试）"),
        "col_hints": ("Hints", "提示"),
        "col_time": ("Time on task", "本步用时"),
        "col_last": ("Last activity", "最近活动"),
        "col_nodes": ("Nodes up", "节点在线"),
        "col_actions": ("", ""),
        "reset": ("Reset", "重置"),
        "reset_confirm": ("Reset this seat to the start of its scenario?", "把这个座位重置到场景开头吗？"),
        "csv": ("Download results (CSV)", "下载成绩（CSV）"),
        "live": ("Updates live", "实时更新"),
        "ago": ("s ago", "秒前"),
        "state_solved": ("solved", "已解决"),
        "state_by_solution": ("by solution", "用参考解法"),
        "state_working": ("working", "进行中"),
        "state_idle": ("not started", "未开始"),
        "board_finished": ("finished", "已完成"),
        "terminals": ("Terminals", "终端"),
        "term_hint": (
            "A shell on each node of your lab, as user vagrant (sudo works). "
            "It keeps running when you reload the page.",
            "实验环境中每个节点的 shell，用户为 vagrant（可以使用 sudo）。刷新页面后终端仍在原处，内容不会丢失。",
        ),
        "term_missing": (
            "Terminals are not installed on this server; log in as shown below.",
            "这台服务器没有安装网页终端，请按下面的方式登录。",
        ),
        "term_closed": ("[the terminal closed: reload the page to reconnect]", "[终端已关闭：刷新页面即可重新连接]"),
        "story": ("The story so far", "前面的步骤"),
        "output": ("Output", "输出"),
        "topology": ("The lab", "实验拓扑"),
        "consent_off": ("Let my instructor watch my terminals", "允许老师查看我的终端"),
        "consent_on": ("Stop letting my instructor watch", "不再允许老师查看"),
        "consent_is_on": ("Your instructor may watch your terminals.", "老师可以查看你的终端。"),
        "watched": ("Your instructor is watching your terminal now.", "老师正在查看你的终端。"),
        "from_instructor": ("From your instructor", "老师的消息"),
        "col_stuck": ("Help", "求助"),
        "stuck": ("stuck", "卡住了"),
        "watch": ("Watch", "查看"),
        "watch_not_allowed": (
            "The student has not allowed watching (they can allow it on their page).",
            "学生还没有允许查看（学生可以在自己的页面上允许）。",
        ),
        "watching": ("Watching (read only)", "正在查看（只读）"),
        "message": ("Message", "消息"),
        "send": ("Send", "发送"),
        "to_all": ("All seats", "所有座位"),
        "next_hint": ("Send the next hint", "发送下一条提示"),
        "catch_up": ("Catch up to", "推进到"),
        "catch_up_confirm": (
            "Bring this seat to the chosen step? Its lab is cleaned up and the steps before it "
            "are replayed, tasks by their solution.",
            "要把这个座位推进到所选步骤吗？它的实验环境会先被清理，然后重放此前的步骤（任务按参考解法完成）。",
        ),
        "stuck_rule": (
            "Stuck: the same check failed {fails} times, or no progress for {minutes} minutes.",
            "卡住的判定：同一项检查失败 {fails} 次，或 {minutes} 分钟没有进展。",
        ),
        "back_to_board": ("Back to the board", "返回看板"),
    },
    # the terminal transcript and the handout (scenario/transcript.py, handout.py)
    "transcript": {
        "step": ("Step", "步骤"),
        "passed": ("passed", "通过"),
        "failed": ("failed", "失败"),
        "skipped": ("skipped", "跳过"),
        "error": ("error", "出错"),
        "summary": ("Summary", "总结"),
        "command": ("Command", "命令"),
        "output": ("Output", "输出"),
        "result": ("Result", "结果"),
        "time": ("Time", "用时"),
        "kind": ("Kind", "类型"),
        "lab": ("Lab", "实验环境"),
        "variant": ("Variant", "变体"),
        "date": ("Date", "日期"),
        "on": ("on", "节点"),
        "exit": ("exit", "退出码"),
        "did_not_run": ("did not run", "未能运行"),
        "folded": ("… {n} lines folded …", "… 已折叠 {n} 行 …"),
        "no_output": ("(no output)", "（无输出）"),
        "stderr": ("stderr", "标准错误"),
        "attempts": ("after {n} attempts", "共尝试 {n} 次"),
        "captured": ("captured", "捕获"),
        "all_passed": ("All {n} steps passed", "全部 {n} 个步骤通过"),
        "failed_at": ("Failed at step {n}: {title}", "在步骤 {n} 失败：{title}"),
        "interrupted": ("Interrupted", "已中断"),
        "sudo": ("as root", "以 root 身份"),
        "all_nodes": ("all nodes", "所有节点"),
        "as_on": ("shown with {node}'s values (each node its own)", "此处显示 {node} 的取值（各节点用各自的值）"),
        "as_expected": ("as expected", "符合预期"),
        "same_on": ("same on {nodes}", "{nodes} 上相同"),
        "topology": ("The lab", "实验环境拓扑"),
        "evidence": ("lines that met an expectation are marked", "满足预期的输出行已高亮标出"),
    },
    # step kinds, as badges (one word each: 问答题, 制造故障)
    "kinds": {
        "setup": ("SETUP", "准备"),
        "observe": ("OBSERVE", "观察"),
        "break": ("BREAK", "制造故障"),
        "fix": ("FIX", "修复"),
        "verify": ("VERIFY", "验证"),
        "explain": ("EXPLAIN", "讲解"),
        "cleanup": ("CLEANUP", "清理"),
        "task": ("TASK", "任务"),
        "question": ("QUESTION", "问答题"),
    },
    # the student's worksheet (scenario/worksheet.py)
    "worksheet": {
        "worksheet": ("Worksheet", "练习单"),
        "task": ("Task", "任务"),
        "question": ("Question", "问答题"),
        "hint": ("Hint", "提示"),
        "answer": ("Your answer", "你的答案"),
        "check": (
            "When you are done, press Check on your seat page (on a lab of your own: `labgen scenario check`).",
            "完成后，在座位页面上点“检查”（自己的实验环境：运行 `labgen scenario check`）。",
        ),
        "name": ("Name", "姓名"),
        "seat": ("Seat", "座位"),
        "topology": ("The lab", "实验环境"),
        "hints_on_last_page": (
            "Stuck? {n} hints, upside down on the last page.",
            "卡住了？最后一页倒印着 {n} 条提示。",
        ),
        "hints_title": ("Hints (open one only when you are stuck)", "提示（卡住时再看）"),
        "recorded": (
            "The outputs below were recorded on lab {lab} on {date} ({provider}); "
            "on your lab, names and addresses may differ.",
            "下面的输出录自实验环境 {lab}，时间 {date}（{provider}）；你的实验环境里的名字和地址可能不同。",
        ),
        "not_recorded": (
            "No recorded run of this scenario was found, so this worksheet shows no outputs: "
            "run the observe steps on your lab and read them there.",
            "没有找到这个场景的运行记录，所以本练习单不含任何输出：请在自己的实验环境上运行观察步骤，在那里查看。",
        ),
        "no_output": (
            "No recorded output for this step: look at it on your lab.",
            "这一步没有录下的输出：请在自己的实验环境上查看。",
        ),
        "node_output": ("Output on {node}", "{node} 上的输出"),
        "read_after": (
            "Read on once you have finished the tasks and questions above: what follows gives their answers away.",
            "请先完成上面的任务和问答题再往下读：下面的内容会透露答案。",
        ),
    },
    # the student's commands in the terminal (cli/challenge.py)
    "challenge_cli": {
        "passed": ("passed:", "通过："),
        "not_yet": ("not yet: the check did not pass", "还没有完成：检查未通过"),
        "hint_hint": (
            "`labgen scenario hint` gives a hint; `labgen scenario check -v` shows the details",
            "`labgen scenario hint` 给出提示；`labgen scenario check -v` 显示细节",
        ),
        "no_more": ("no more hints (all {n} shown)", "没有更多提示了（{n} 条已全部给出）"),
        "hint": ("hint", "提示"),
        "right": ("right:", "回答正确："),
        "wrong": ("not the answer we expected", "答案不对"),
        "solution": ("solution", "参考解法"),
        "solved": ("solved by the solution:", "已用参考解法完成："),
        "current": ("current step", "当前步骤"),
        "step": ("step", "步骤"),
        "kind": ("kind", "类型"),
        "status": ("status", "状态"),
        "attempts": ("attempts", "尝试次数"),
        "hints": ("hints", "提示"),
        "time": ("time", "用时"),
        "open": ("open", "进行中"),
        "solved_by_solution": ("by solution", "用参考解法"),
        "not_started": ("not started", "未开始"),
        "done": ("done", "已完成"),
        "passed_col": ("passed", "通过"),
        "finished": (
            "Finished: every task and question is done. `labgen scenario progress` shows the summary.",
            "全部完成：所有任务和问答题都已完成。`labgen scenario progress` 查看总结。",
        ),
        "kind_task": ("TASK", "任务"),
        "kind_question": ("QUESTION", "问答题"),
        "how_task": (
            "when done: labgen scenario check · stuck: labgen scenario hint · give up: labgen scenario solve",
            "完成后：labgen scenario check · 卡住了：labgen scenario hint · 放弃：labgen scenario solve",
        ),
        "how_question": (
            'answer: labgen scenario answer "..." · stuck: labgen scenario hint',
            '回答：labgen scenario answer "……" · 卡住了：labgen scenario hint',
        ),
    },
    # one-language scenarios (scenario/language.py): the note a page shows when texts fall back
    "language": {
        "fallback_note": (
            "Parts of this scenario are written in Chinese only; they are shown as written.",
            "本场景有些内容只有英文，按原文显示。",
        ),
    },
    # the topology picture (graph.py)
    "graph": {
        "network": ("lab network", "实验网络"),
        "host": ("host", "宿主机"),
        "host_note": ("the machine running labgen", "运行 labgen 的机器"),
    },
}


def table(area: str) -> dict[str, dict[str, str]]:
    """{"en": {key: word}, "zh": {key: word}} for one area."""
    pairs = CATALOGUE[area]
    return {"en": {k: v[0] for k, v in pairs.items()}, "zh": {k: v[1] for k, v in pairs.items()}}


def words(area: str, lang: str) -> dict[str, str]:
    """{key: word} of one area in `lang` (English for anything but zh)."""
    return table(area)["zh" if lang == "zh" else "en"]
