#!/bin/sh
# Runs in the test VM (test-usb.sh): several processes share one real USB reader (ccid-gadget
# on dummy_hcd) through our drop-in libpcsclite.so.1, no daemon, with the default lock
# directory (docs/design/api.md "Across processes: one reader device, one claimer at a time").
# The client is tests/vm/multi_process_client.c (<winscard.h> only). Steps:
#   a. three processes exchange echo APDUs outside transactions and, inside transactions,
#      SELECT / UPDATE BINARY of their own stamp / echoes / READ BINARY of it on the card's
#      one file: all succeed, every response matches, no stamp of another process shows up
#      (a transaction interleaved with another process's commands would show one);
#   b. two processes do the same while a third, holding a transaction in the middle of a
#      stream of echoes, is killed with SIGKILL: the two finish within a bound;
#   c. two processes blocked in SCardGetStatusChange (INFINITE) both see the card's removal,
#      then its insertion, done through the gadget's control FIFO;
#   d. with CCIDKIT_LOCK_DIR= (sharing off, documented in docs/design/api.md) a process keeps
#      the interface claimed, and a second one does not get the reader: its list, connect or
#      transmit fails (what it got is printed);
#   e. the gadget unplugged while two processes exchange APDUs: each one's failing call says
#      SCARD_E_READER_UNAVAILABLE (or SCARD_W_REMOVED_CARD), the transfer in flight included.
#
# Usage: multi-process-usb.sh BUILD_DIR   ($CCIDKIT_MP_ROUNDS: rounds per traffic process, default 60)
set -u
build=$1
gadget="$build/tools/ccid-gadget"
client="$build/tests/multi_process_client"
lib=$(dirname "$(find "$build" -maxdepth 3 -name libpcsclite.so.1 | head -n 1)")
rounds=${CCIDKIT_MP_ROUNDS:-60}
slow=${CCIDKIT_VM_SLOWDOWN:-1}
[ -x "$client" ] || { echo "multi-process-usb: $client not built (libpcsclite-dev missing?)"; exit 1; }
[ -f "$lib/libpcsclite.so.1" ] || { echo "multi-process-usb: libpcsclite.so.1 not built in $build"; exit 1; }

work=$(mktemp -d)
"$gadget" --level tpdu --card t1 --control "$work/control" --ack "$work/ack" --ready "$work/ready" &
gadget_pid=$!
finish() {
    for p in $(jobs -p); do [ "$p" = "$gadget_pid" ] || kill -9 "$p" 2>/dev/null; done
    kill $gadget_pid 2>/dev/null
    wait 2>/dev/null
    rm -rf "$work"
    exit "$1"
}
i=0
until grep -qs "^1209$" /sys/bus/usb/devices/*/idVendor && grep -qs "^atr " "$work/ready"; do
    i=$((i + 1))
    [ $i -gt 300 ] && { echo "multi-process-usb: the gadget never enumerated"; finish 1; }
    sleep 0.1
done

# The programs' environment: only USB readers, the default lock directory.
clean_env="-u CCID_VIRTUAL_READERS -u CCIDKIT_USB -u CCIDKIT_LOCK_DIR -u CCIDKIT_USB_FD"
run() {
    env $clean_env LD_LIBRARY_PATH="$lib" "$@"
}
# Background clients: `spawn ... &`. A function put in the background runs in a forked
# subshell, so `run ... &` made $! that shell and `kill -9 $!` left the client running (still
# holding its transaction or its claim); exec turns the subshell into the client itself.
spawn() {
    exec env $clean_env LD_LIBRARY_PATH="$lib" "$@"
}
status=0
failed() {
    echo "multi-process-usb: FAIL: $*"
    status=1
}
# wait_file FILE SECONDS: 0 once FILE exists.
wait_file() {
    n=0
    while [ ! -e "$1" ]; do
        n=$((n + 1))
        [ $n -gt $(($2 * 10)) ] && return 1
        sleep 0.1
    done
}
# One line to the gadget's control FIFO, then its acknowledgement.
gadget_command() {
    before=$(cat "$work/ack" 2>/dev/null | wc -l)
    echo "$1" > "$work/control"
    n=0
    while [ "$(cat "$work/ack" 2>/dev/null | wc -l)" -le "$before" ]; do
        n=$((n + 1))
        [ $n -gt 100 ] && { failed "gadget '$1': no acknowledgement"; return 1; }
        sleep 0.1
    done
    tail -n 1 "$work/ack" | grep -q -- "-> ok" || { failed "gadget '$1': $(tail -n 1 "$work/ack")"; return 1; }
}
# expect_exit PID CODE SECONDS WHAT: waits (bounded) for a background client.
expect_exit() {
    n=0
    while kill -0 "$1" 2>/dev/null; do
        n=$((n + 1))
        if [ $n -gt $(($3 * 10)) ]; then
            failed "$4 still running after $3 s"
            kill -9 "$1" 2>/dev/null
            break
        fi
        sleep 0.1
    done
    wait "$1"
    code=$?
    [ "$code" -eq "$2" ] || failed "$4 exited with $code, expected $2"
}

echo "---- a. three processes, echoes and transactions ($rounds rounds each) ----"
start=$(date +%s)
for p in A B C; do
    spawn "$client" traffic $p "$rounds" > "$work/$p.log" 2>&1 &
    eval "pid_$p=$!"
done
for p in A B C; do eval "expect_exit \$pid_$p 0 $((300 * slow)) 'traffic $p'"; done
cat "$work/A.log" "$work/B.log" "$work/C.log" | grep -v " rounds$"
echo "a: took $(($(date +%s) - start)) s"

echo "---- b. SIGKILL of a process holding a transaction ----"
for p in D E; do
    spawn env CCIDKIT_LOG=debug "$client" traffic $p "$rounds" > "$work/$p.log" 2>&1 &
    eval "pid_$p=$!"
done
spawn "$client" victim V "$work/V.ready" > "$work/V.log" 2>&1 &
victim=$!
if wait_file "$work/V.ready" $((120 * slow)); then
    sleep 0.3  # into its stream of echoes, most likely in the middle of a transfer
    kill -9 $victim
    killed=$(date +%s)
    wait $victim 2>/dev/null
    echo "b: killed the victim inside its transaction"
else
    failed "the victim never got its transaction"
    kill -9 $victim 2>/dev/null
fi
for p in D E; do eval "expect_exit \$pid_$p 0 $((90 * slow)) 'traffic $p after the kill'"; done
cat "$work/V.log"
for p in D E; do grep "^mp" "$work/$p.log" | grep -v " rounds$"; done
[ $status -eq 0 ] || for p in D E; do echo "-- $p's last log lines"; tail -n 12 "$work/$p.log" | cut -c1-200; done
[ -n "${killed:-}" ] && [ $status -eq 0 ] && echo "b: the others finished $(($(date +%s) - killed)) s after the kill"

echo "---- c. two processes blocked in SCardGetStatusChange see removal and insertion ----"
spawn "$client" wait W1 "$work" > "$work/W1.log" 2>&1 &
w1=$!
spawn "$client" wait W2 "$work" > "$work/W2.log" 2>&1 &
w2=$!
if wait_file "$work/W1.removal" $((60 * slow)) && wait_file "$work/W2.removal" $((60 * slow)); then
    sleep 0.5  # both inside the call (a change before it is reported all the same)
    gadget_command remove
    # Each waiter creates its .insertion file once it has seen the removal.
    wait_file "$work/W1.insertion" $((30 * slow)) || failed "W1 did not see the removal"
    wait_file "$work/W2.insertion" $((30 * slow)) || failed "W2 did not see the removal"
    sleep 0.5
    gadget_command insert
fi
expect_exit $w1 0 $((30 * slow)) "waiter W1"
expect_exit $w2 0 $((30 * slow)) "waiter W2"
cat "$work/W1.log" "$work/W2.log"

echo "---- d. sharing off (CCIDKIT_LOCK_DIR=): the second process does not get the reader ----"
spawn env CCIDKIT_LOCK_DIR= "$client" holder H "$work/H.ready" > "$work/H.log" 2>&1 &
holder=$!
if wait_file "$work/H.ready" $((60 * slow)); then
    run env CCIDKIT_LOCK_DIR= timeout $((60 * slow)) "$client" probe P > "$work/P.log" 2>&1
    code=$?
    cat "$work/H.log" "$work/P.log"
    [ $code -eq 3 ] || failed "the second process (sharing off) exited with $code, expected 3 (no reader)"
else
    cat "$work/H.log"
    failed "the holder (sharing off) never got the reader"
fi
kill -9 $holder 2>/dev/null
wait $holder 2>/dev/null

echo "---- e. unplug while two processes exchange APDUs: both get 'reader unavailable' ----"
# CCIDKIT_LOG=info: the library's 'reader gone' line tells whether the transfer in flight
# failed with a plain I/O error that the presence probe (src/ccid/presence_probe.h) turned
# into ReaderGone ("then the device vanished").
for p in F G; do
    spawn env CCIDKIT_LOG=info "$client" unplug $p "$work/$p.ready" > "$work/$p.log" 2>&1 &
    eval "pid_$p=$!"
done
if wait_file "$work/F.ready" $((60 * slow)) && wait_file "$work/G.ready" $((60 * slow)); then
    gadget_command unplug
else
    failed "the unplug clients never got going"
fi
for p in F G; do eval "expect_exit \$pid_$p 0 $((30 * slow)) 'unplug client $p'"; done
grep -h "^mp \|reader gone" "$work/F.log" "$work/G.log"

[ $status -eq 0 ] && echo "multi-process-usb: all steps passed"
finish $status
