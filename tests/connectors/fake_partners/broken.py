raise ImportError("this partner module is broken on purpose")
