// Sessions and cookies on their own: ids that are random and kept only hashed,
// expiry, the cap, and Cookie headers as browsers and attackers write them.
#include "labelrun/web/sessions.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

namespace labelrun::web {
namespace {

using namespace std::chrono_literals;

TEST(SessionStoreTest, IdsAreRandomAndExpire) {
  ManualClock clock;
  SessionStore store(clock, 1h);
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) ids.insert(store.Create("carol").id);
  EXPECT_EQ(ids.size(), 100u);
  SessionStore::Created s = store.Create("dave");
  ASSERT_EQ(s.id.size(), 64u);
  ASSERT_EQ(s.session.csrf.size(), 64u);
  EXPECT_NE(s.id, s.session.csrf);
  ASSERT_TRUE(store.Find(s.id));
  EXPECT_EQ(store.Find(s.id)->user, "dave");
  EXPECT_FALSE(store.Find(s.id.substr(1) + "0"));
  EXPECT_FALSE(store.Find(s.id + "0"));
  EXPECT_FALSE(store.Find(""));
  clock.Advance(1h - 1ms);
  EXPECT_TRUE(store.Find(s.id));
  clock.Advance(1ms);
  EXPECT_FALSE(store.Find(s.id));
}

TEST(SessionStoreTest, RemoveAndTheCap) {
  ManualClock clock;
  SessionStore store(clock, 1h, 3);
  SessionStore::Created first = store.Create("a");
  clock.Advance(1s);
  SessionStore::Created second = store.Create("b");
  store.Remove(second.id);
  EXPECT_FALSE(store.Find(second.id));
  store.Create("c");
  store.Create("d");
  store.Create("e");  // the cap: the one expiring first goes
  EXPECT_EQ(store.size(), 3u);
  EXPECT_FALSE(store.Find(first.id));
}

TEST(CookieTest, ParsesHeadersAndWritesStrictCookies) {
  EXPECT_EQ(CookieValue("a=1; labelrun_session=abc; b=2", "labelrun_session"), "abc");
  EXPECT_EQ(CookieValue("labelrun_session=abc", "labelrun_session"), "abc");
  EXPECT_EQ(CookieValue("xlabelrun_session=abc", "labelrun_session"), "");
  EXPECT_EQ(CookieValue("labelrun_sessio=abc", "labelrun_session"), "");
  EXPECT_EQ(CookieValue("", "labelrun_session"), "");
  EXPECT_EQ(CookieValue(";;=;labelrun_session", "labelrun_session"), "");
  const std::string plain = SessionCookie("abc", 2h, false);
  EXPECT_EQ(plain, "labelrun_session=abc; Path=/; Max-Age=7200; HttpOnly; SameSite=Strict");
  EXPECT_EQ(SessionCookie("abc", 2h, true),
            "__Host-labelrun=abc; Path=/; Max-Age=7200; HttpOnly; SameSite=Strict; Secure");
  EXPECT_THAT(ClearedSessionCookie(false), ::testing::HasSubstr("Max-Age=0"));
}

TEST(CookieTest, UserNamesReadPlainly) {
  for (const char* ok : {"carol", "c.a-r_o1", "A"}) EXPECT_TRUE(IsUserName(ok)) << ok;
  for (const char* bad : {"", "a b", "<b>", "@carol", "carol\n", "x\"y"}) {
    EXPECT_FALSE(IsUserName(bad)) << bad;
  }
  EXPECT_FALSE(IsUserName(std::string(40, 'a')));
  EXPECT_TRUE(SecretEquals("abc", "abc"));
  EXPECT_FALSE(SecretEquals("abc", "abd"));
  EXPECT_FALSE(SecretEquals("abc", "abcd"));
}

}  // namespace
}  // namespace labelrun::web
