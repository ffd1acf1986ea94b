#!/usr/bin/env bash
# Hostile-input corpus, archives whose one member is the executable
# (Mode=binary, Member=; docs/hostile-input.md): a 2 GiB sparse member in a
# few KiB of tar.gz and a 1 MiB zip of more than 1 GiB of zeros
# (MaxUnpackedSize=), the member twice, a member that is a symlink or a hard
# link, entry names with escape sequences and bytes that are not UTF-8.
# Each refusal is checked by hostile_case (hostile_lib.sh). Then an archive
# whose member is setuid and world-writable installs with the mode of the
# executable it replaces.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../hostile_lib.sh"
install_upgrader
start_release_server
make_vendor_key
install_demo_service
demo_config
conf_set Source URL "$RELEASE_URL/demo-@v.tar.gz"
conf_set Source Member bin/service
conf_set Source MaxUnpackedSize 1G
publish_archive good 2 test_service_v2
assert_eq "baseline: 1 -> 2 from demo-2.tar.gz" 0 "$(upgrade_status demo)"
assert_eq "v2 serving" 2 "$(demo_version)"

# Every refusal names the release and its URL first, then the archive (by
# then a temp file) it was unpacking.
release="Failed to unpack release 3 from '$RELEASE_URL/demo-3\.tar\.gz': "
archive="'$DEMO_DIR/\.demo-3\.tar\.gz\.[A-Za-z0-9]{6}\.partial'"
publish_archive sparse-member 3 test_service_v3
hostile_case "a 2 GiB sparse member in $(stat -c %s "$RELEASES/demo-3.tar.gz") bytes of tar.gz" 1 \
  "${release}Refusing to extract $archive: it unpacks to more than 1073741824 bytes \(MaxUnpackedSize=\)"
conf_set Source URL "$RELEASE_URL/demo-@v.zip"
publish_archive zip-bomb 3 test_service_v3 zip
hostile_case "1.06 GiB of zeros in a $(stat -c %s "$RELEASES/demo-3.zip")-byte zip" 1 \
  "Failed to unpack release 3 from '$RELEASE_URL/demo-3\.zip': Refusing to extract '$DEMO_DIR/\.demo-3\.zip\.[A-Za-z0-9]{6}\.partial': it unpacks to more than 1073741824 bytes \(MaxUnpackedSize=\)"
conf_set Source URL "$RELEASE_URL/demo-@v.tar.gz"
publish_archive member-twice 3 test_service_v3
hostile_case "the member twice" 1 "${release}Refusing $archive: 'bin/service' appears twice in it"
publish_archive member-symlink 3 test_service_v3
hostile_case "the member is a symlink to /etc/shadow" 1 \
  "${release}'bin/service' in $archive is not a regular file"
publish_archive member-hardlink 3 test_service_v3
hostile_case "the member is a hard link" 1 \
  "${release}'bin/service' in $archive is not a regular file"
publish_archive member-missing-weird-names 3 test_service_v3
for how in unit cli json; do
  hostile_case "entry names with escapes and bytes not UTF-8 ($how)" 1 \
    "${release}no member 'bin/service' in $archive \(it has: bin, bin/.*(\\\\x1b|\\\\u001b)\]0;owned(\\\\x07|\\\\u0007)" \
    "$how"
done

echo "== setuid and world-writable in the archive: the installed file has the mode of the one it replaces"
publish_archive member-setuid-writable 3 test_service_v3
assert_eq "2 -> 3" 0 "$(upgrade_status demo)"
assert_eq "v3 serving" 3 "$(demo_version)"
assert_eq "mode and owner of the installed executable" "755 0:0" \
  "$(stat -c '%a %u:%g' "$DEMO_BIN")"
assert_eq "no temp files left" "" "$(temp_files)"
echo "== $hostile_cases hostile cases, $SECONDS s in the test bed"
finish
