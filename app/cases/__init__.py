"""Cases (办件): submission, instant approval, timeline, working-day limits, ratings."""
