"""Proactive push (主动推送): profile tags, the audience index, push rules and their delivery.

Nothing is pushed yet: the capability arrives with the push work. The package exists because
the customer's layout places it here.
"""
