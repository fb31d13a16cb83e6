# Lua 5.1 for the tests of the Argo CD health checks (manifests/argocd/*.lua, run by
# tests/support/lua.py): Argo CD runs them on gopher-lua, a Lua 5.1. hack/lua.sh installs Debian's
# lua5.1 when it is missing.

.PHONY: lua
lua:  ## install lua5.1, which runs the Argo CD health checks in the unit and integration tiers
	hack/lua.sh

test-unit: lua
