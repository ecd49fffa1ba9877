"""Classroom: N seats of one lab on one host, each an ordinary lab dir.

Modules, each with one job (imports only go down: cli → ops → placement/isolation/access →
layout):
  layout.py     pure: the classroom file, seat numbering, names and addressing, seat lab files
  hostcheck.py  reads the host: routes (pool overlaps), memory and disk for N seats
  isolation.py  the nftables tables that keep seats apart
  access.py     student access: per-seat keys, accounts and a labgen-run sshd
  sheets.py     what students receive: ssh_config, key, a printable access sheet
  placement.py  THE seam where a seat is placed: "this host" today (see its docstring)
  ops.py        up / down / reset / exec / status / scenario over seats, in parallel
"""
