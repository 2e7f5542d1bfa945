# bash completion for heapscope(1). `make install` puts it in
# $(PREFIX)/share/bash-completion/completions/heapscope; or source it.
#
# The commands and each one's options are the rows of cmd/main.c's
# command table and cmd/options.c's option table, written out here:
# tests/e2e/completion.sh asks the binary which command takes which option
# (and which formats), and fails when this file says otherwise.
# PIDs offered for attach and watch: the processes whose maps name glibc's libc
# (libc.so.6), those this user may read; listed with their command names
# when bash lists the choices, inserted bare.

_heapscope_commands="attach replay core watch diff"
# the options every command takes, and the global ones (before the command)
_heapscope_every="-h --help -V --version"
_heapscope_global="-j --json -p --pretty --format= --no-debuginfo --redact -o --output= $_heapscope_every"
_heapscope_report="-j --json -p --pretty --format= --chunks --bins --redact -o --output= $_heapscope_every"
_heapscope_opts_attach="$_heapscope_report --compare --leaks --leaks=all --no-debuginfo --glibc= --max-stop="
_heapscope_opts_core="$_heapscope_report --compare --leaks --leaks=all --no-debuginfo --sysroot= --glibc="
_heapscope_opts_replay="$_heapscope_report --compare --glibc= --word-size= --heap-base="
_heapscope_opts_watch="-j --json --format= --redact --no-debuginfo --glibc= --max-stop= -i --interval= -n --count= $_heapscope_every"
_heapscope_opts_diff="-j --json -p --pretty --format= --redact -o --output= $_heapscope_every"

# _heapscope_formats COMMAND: the --format values COMMAND takes.
_heapscope_formats() {
	case $1 in
	diff | watch) echo "text json" ;;
	replay) echo "text json malloc-stats malloc-info svg" ;;
	*) echo "text json malloc-stats malloc-info prometheus svg" ;;
	esac
}

# _heapscope_pids PREFIX: the pids that start with PREFIX of processes
# that load libc.so.6; "PID (COMM)" when bash lists them (more than one,
# COMP_TYPE '?', '!' or '@'), the bare pid when it inserts one.
_heapscope_pids() {
	local maps pid pids=() comm
	for maps in $(grep -lsF libc.so.6 /proc/[0-9]*/maps 2>/dev/null); do
		pid=${maps#/proc/}
		pid=${pid%/maps}
		# (the grep that listed them has gone since)
		[[ $pid == "$1"* && -e /proc/$pid ]] && pids+=("$pid")
	done
	if [[ ${#pids[@]} -gt 1 && ${COMP_TYPE:-9} =~ ^(63|33|64)$ ]]; then
		for pid in "${pids[@]}"; do
			comm=$(cat "/proc/$pid/comm" 2>/dev/null) && COMPREPLY+=("$pid ($comm)")
		done
	else
		COMPREPLY+=("${pids[@]}")
	fi
}

_heapscope_files() {
	compopt -o filenames 2>/dev/null
	local IFS=$'\n'
	COMPREPLY+=($(compgen -f -- "$1"))
}

_heapscope() {
	COMPREPLY=()
	local cur=${COMP_WORDS[COMP_CWORD]} prev= opt= i w cmd= opts
	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
	# --opt=VALUE: bash splits it at '=' (COMP_WORDBREAKS) into "--opt" "=" "VALUE"
	if [[ $cur == = ]]; then
		opt=$prev cur=
	elif [[ $prev == = ]] && ((COMP_CWORD > 1)); then
		opt=${COMP_WORDS[COMP_CWORD - 2]}
	elif [[ $cur == --*=* ]]; then
		opt=${cur%%=*} cur=${cur#*=}
	fi
	# the command: the first word that is not an option or an option's value
	local ended=
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if [[ $w == -- ]]; then
			ended=yes
		elif [[ $w == = || ${COMP_WORDS[i - 1]} == = ]]; then
			continue
		elif [[ -z $ended && ($w == -o || $w == --output || ($w =~ ^-[a-zA-Z]+$ && $w == *o)) ]]; then
			((i++)) # its FILE
		elif [[ -z $ended && ($w == -i || $w == -n || $w == --interval || $w == --count) ]]; then
			((i++)) # watch's number
		elif [[ -z $ended && $w == -* ]]; then
			continue
		elif [[ -z $cmd ]]; then
			cmd=$w
		fi
	done

	local pre=
	[[ ${COMP_WORDS[COMP_CWORD]} == --*=* ]] && pre=$opt=
	if [[ -n $opt ]]; then
		local vals=
		case $opt in
		--format) vals=$(_heapscope_formats "$cmd") ;;
		--leaks) vals=all ;;
		--glibc) vals="2.31 2.32 2.33 2.34 2.35 2.36 2.37 2.38 2.39 2.40 2.41 2.42 2.43" ;;
		--word-size) vals="4 8" ;;
		--output)
			_heapscope_files "$cur"
			;;
		--sysroot)
			compopt -o filenames 2>/dev/null
			local IFS=$'\n'
			COMPREPLY=($(compgen -d -- "$cur"))
			;;
		esac
		[[ -n $vals ]] && COMPREPLY=($(compgen -W "$vals" -- "$cur"))
		if [[ -n $pre ]]; then
			for i in "${!COMPREPLY[@]}"; do COMPREPLY[i]=$pre${COMPREPLY[i]}; done
		fi
		return 0
	fi
	if [[ -z $ended && ($prev == -o || $prev == --output || ($prev =~ ^-[a-zA-Z]+$ && $prev == *o)) ]]; then
		_heapscope_files "$cur"
		return 0
	fi
	# watch's -i SECONDS and -n COUNT: a number, nothing to offer
	[[ -z $ended && ($prev == -i || $prev == -n || $prev == --interval || $prev == --count) ]] && return 0
	if [[ -z $ended && $cur == -* ]]; then
		if [[ -z $cmd ]]; then
			opts=$_heapscope_global
		else
			w=_heapscope_opts_$cmd
			opts=${!w:-}
		fi
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
		# an option that takes its value after '=': no space after it
		[[ ${COMPREPLY[*]} == *= ]] && compopt -o nospace 2>/dev/null
		return 0
	fi
	case $cmd in
	'') COMPREPLY=($(compgen -W "$_heapscope_commands" -- "$cur")) ;;
	attach | watch) _heapscope_pids "$cur" ;;
	core | replay | diff) _heapscope_files "$cur" ;;
	esac
	return 0
}
complete -F _heapscope heapscope
