# Sourced by the project's scripts before they run a nested install (npm, pip, go, cargo, apt).
# `npm run` exports its own configuration (npm_config_*, npm_package_*, npm_lifecycle_*, NODE,
# COLOR, INIT_CWD) and prepends node_modules/.bin and npm's node-gyp shim to PATH; a nested
# `npm install` takes all of it as its own settings (npm_config_user_agent names the outer Node,
# which code-server's postinstall reads). Drop it, exactly as backend/environment.ts does for
# the installs the CLI runs.
while IFS= read -r __ff_var; do
  unset "$__ff_var"
done < <(compgen -e | grep -iE '^npm_' ; compgen -e | grep -xE 'INIT_CWD|NODE|COLOR')
unset __ff_var
__ff_path=""
IFS=: read -r -a __ff_dirs <<<"$PATH"
for __ff_dir in "${__ff_dirs[@]}"; do
  case "$__ff_dir" in
    "" | */node_modules/.bin | */@npmcli/run-script/*) ;;
    *) __ff_path="${__ff_path:+$__ff_path:}$__ff_dir" ;;
  esac
done
export PATH="$__ff_path"
unset __ff_path __ff_dirs __ff_dir
