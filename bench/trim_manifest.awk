# Trims a published crate's Cargo.toml so that the crate builds offline against the vendor
# folder of a project that depends on it. Used by bench/compare_rust.sh:
#
#   awk -v vendored="PKG ..." -v want="FEATURE ..." [-v drop="PKG ..."] \
#       -f bench/trim_manifest.awk Cargo.toml Cargo.toml > Cargo.toml.new
#
# (the manifest is read twice). Why: cargo resolves a workspace member's lock file with all
# its features and dev-dependencies, and the vendor folder holds only what the dependent
# project used. The library compiled with the `want` features (plus `default`) is unchanged:
#   - dev-dependencies are dropped;
#   - every feature outside the closure of `default` and `want` becomes `name = []` (it keeps
#     its name, so cfg(feature = "...") stays valid; it enables nothing);
#   - optional dependencies that no remaining feature enables are dropped, and so are
#     dependencies whose package is not in `vendored` or is named in `drop`; references to
#     a dropped dependency are removed from the remaining features; an optional
#     dependency's implicit feature is kept as `name = []`.
# Works on the normalized manifests `cargo publish` writes (one key per line, dependencies
# as [dependencies.NAME] tables); also accepts inline `name = { ... }` dependency lines.

function unq(s) { gsub(/^[ \t"\047]+|[ \t"\047]+$/, "", s); return s }

# Appends the quoted strings of `text` to entries[name] (space-separated).
function add_entries(name, text,   s) {
    while (match(text, /"[^"]*"/)) {
        s = substr(text, RSTART + 1, RLENGTH - 2)
        entries[name] = entries[name] " " s
        text = substr(text, RSTART + RLENGTH)
    }
}

function end_section(last) {
    if (sec_kind == "dotted") {
        ndep++; dep_key[ndep] = sec_key; dep_pkg[ndep] = sec_pkg; dep_opt[ndep] = sec_opt
        dep_start[ndep] = sec_start; dep_end[ndep] = last
    } else if (sec_kind == "dev") {
        ndev++; dev_start[ndev] = sec_start; dev_end[ndev] = last
    }
}

function enable(name,   n, i, e, a, d) {
    if (name in enabled) return
    enabled[name] = 1
    if (!(name in fstart)) { activated[name] = 1; return }  # an implicit feature
    n = split(entries[name], a, " ")
    for (i = 1; i <= n; i++) {
        e = a[i]
        if (e ~ /^dep:/) { activated[substr(e, 5)] = 1 }
        else if (e ~ /\//) {
            d = e; sub(/\/.*/, "", d)
            if (d !~ /\?$/) activated[d] = 1
        } else enable(e)
    }
}

function resolve(   i, n, a, k, e, j, m, b) {
    n = split(vendored, a, " "); for (i = 1; i <= n; i++) have[a[i]] = 1
    n = split(drop, a, " "); for (i = 1; i <= n; i++) dropset[a[i]] = 1
    if ("default" in fstart) enable("default")
    n = split(want, a, " "); for (i = 1; i <= n; i++) enable(a[i])
    for (i = 1; i <= ndep; i++) {
        k = dep_key[i]
        if ((dep_opt[i] && !(k in activated)) || !(dep_pkg[i] in have) \
            || (dep_pkg[i] in dropset) || (k in dropset)) {
            removed[k] = 1
            for (j = dep_start[i]; j <= dep_end[i]; j++) dropline[j] = 1
        } else kept[k] = 1
    }
    for (i = 1; i <= ndev; i++) for (j = dev_start[i]; j <= dev_end[i]; j++) dropline[j] = 1
    # A key dropped from one target table may be kept in another: it is not removed.
    for (k in kept) delete removed[k]
    for (k in fstart) {
        m = split(entries[k], b, " ")
        for (j = 1; j <= m; j++) if (b[j] ~ /^dep:/) explicit_dep[substr(b[j], 5)] = 1
    }
}

# The implicit features of dropped optional dependencies, as empty features.
function print_implicit(   k) {
    for (k in removed) if (!(k in fstart) && !(k in explicit_dep)) print k " = []"
}

BEGIN { ndep = 0; ndev = 0 }

NR == FNR {
    if (in_feature) {  # continuation of a multi-line feature array
        add_entries(cur_feature, $0)
        if ($0 ~ /\]/) { in_feature = 0; fend[cur_feature] = FNR }
        next
    }
    if ($0 ~ /^[ \t]*\[/) {
        end_section(FNR - 1)
        sec_start = FNR; sec_kind = ""; sec_key = ""; sec_pkg = ""; sec_opt = 0
        h = $0; sub(/^[ \t]*\[+/, "", h); sub(/\]+[ \t]*(#.*)?$/, "", h)
        if (h ~ /(^|\.)dev-dependencies(\.|$)/) sec_kind = "dev"
        else if (h ~ /(^|\.)(build-)?dependencies\.[^.]+$/) {
            sec_kind = "dotted"; sec_key = h; sub(/^.*dependencies\./, "", sec_key)
            sec_key = unq(sec_key); sec_pkg = sec_key
        } else if (h ~ /(^|\.)(build-)?dependencies$/) sec_kind = "table"
        else if (h == "features") { sec_kind = "features"; has_features = 1 }
        next
    }
    if (sec_kind == "dotted") {
        if ($0 ~ /^[ \t]*package[ \t]*=/) { p = $0; sub(/^[^=]*=/, "", p); sec_pkg = unq(p) }
        if ($0 ~ /^[ \t]*optional[ \t]*=[ \t]*true/) sec_opt = 1
    } else if (sec_kind == "table" && $0 ~ /^[ \t]*["A-Za-z0-9_-]+[ \t]*=/) {
        k = $0; sub(/=.*/, "", k); k = unq(k); p = k
        if ($0 ~ /package[ \t]*=[ \t]*"/) { p = $0; sub(/.*package[ \t]*=[ \t]*"/, "", p); sub(/".*/, "", p) }
        ndep++; dep_key[ndep] = k; dep_pkg[ndep] = p; dep_start[ndep] = FNR; dep_end[ndep] = FNR
        dep_opt[ndep] = ($0 ~ /optional[ \t]*=[ \t]*true/)
    } else if (sec_kind == "features" && $0 ~ /^[ \t]*["A-Za-z0-9_.+-]+[ \t]*=/) {
        k = $0; sub(/=.*/, "", k); cur_feature = unq(k)
        fstart[cur_feature] = FNR; fend[cur_feature] = FNR; entries[cur_feature] = ""
        v = $0; sub(/^[^=]*=/, "", v)
        add_entries(cur_feature, v)
        if (v ~ /\[/ && v !~ /\]/) in_feature = 1
    }
    next
}

FNR == 1 {
    end_section(NR - 1)
    resolve()
    section = ""
    for (k in fstart) { start_of[fstart[k]] = k }
}

{
    if ($0 ~ /^[ \t]*\[/) {
        section = $0
        if (!(FNR in dropline)) print
        if (section ~ /^[ \t]*\[features\][ \t]*$/) print_implicit()
        next
    }
    if (FNR in dropline) next
    if (section ~ /^[ \t]*\[features\][ \t]*$/) {
        if (FNR in start_of) {
            cur = start_of[FNR]
            if (!(cur in enabled)) {
                line = $0; sub(/=.*/, "= []", line); print line
                skip_to = fend[cur]
                next
            }
        }
        if (FNR <= skip_to) next
        line = $0
        for (k in removed) {
            re = "\"(dep:)?" k "[?]?(/[^\"]*)?\"[ \t]*,?"
            gsub(re, "", line)
        }
        if (line != $0) {
            gsub(/,[ \t]*\]/, "]", line)
            if (line ~ /^[ \t]*$/) next
        }
        print line
        next
    }
    print
}

END {
    if (!has_features) {
        n = 0
        for (k in removed) if (!(k in explicit_dep)) n++
        if (n) { print ""; print "[features]"; print_implicit() }
    }
}
