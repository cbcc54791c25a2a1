"""Who people are: sessions, WeChat and admin login, real name, enterprises, partner signing."""
