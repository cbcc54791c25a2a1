"""Tests of app/push: audience expressions and their evaluation over bitmaps."""
