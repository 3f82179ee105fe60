"""The community face: dated daily lists, accounts, submissions, votes and trending.

Ranking is pure functions (`trending`); persistence goes through `store/`; the web, the CLI
and the digest all read the lists through `daily.view`.
"""
