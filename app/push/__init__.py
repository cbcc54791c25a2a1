"""Proactive push (主动推送): profile tags, the audience index, rules, runs and the inbox.

Audience expressions are evaluated on the index; a rule approved by a second admin starts runs
(an audience snapshot is the inbox delivery), by schedule or by the triggers that follow domain
events; the tasks keep tags, the index and schedules moving.
"""
